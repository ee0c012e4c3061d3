// Checksums of changed packets against packets whose checksums were worked
// out independently (RFC 1071 by hand, and the well-known IPv4 header
// example whose checksum is 0xb861).
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "hvkit/filterd/packet_checksum.h"

namespace hvkit::filterd {
namespace {

std::vector<uint8_t> Bytes(std::initializer_list<int> v) {
    std::vector<uint8_t> out;
    for (int b : v) out.push_back(static_cast<uint8_t>(b));
    return out;
}

void Append(std::vector<uint8_t>& p, const std::string& s) {
    p.insert(p.end(), s.begin(), s.end());
}

uint16_t At16(const std::vector<uint8_t>& p, size_t at) {
    return static_cast<uint16_t>((p[at] << 8) | p[at + 1]);
}

// IPv4 UDP 127.0.0.1:40000 -> 127.0.0.1:9999 "hello XXXXXX", with wrong
// lengths and checksums (0xdead) as a guest might return it.
std::vector<uint8_t> Udp4() {
    auto p =
        Bytes({0x45, 0, 0xde, 0xad, 0x12, 0x34, 0x40, 0,    64,   17,   0xde, 0xad, 127,  0,
               0,    1, 127,  0,    0,    1,    0x9c, 0x40, 0x27, 0x0f, 0xde, 0xad, 0xde, 0xad});
    Append(p, "hello XXXXXX");
    return p;
}

TEST(PacketChecksum, KnownIpv4HeaderSumsTo0xb861) {
    auto h = Bytes(
        {0x45, 0, 0, 0x73, 0, 0, 0x40, 0, 0x40, 0x11, 0, 0, 0xc0, 0xa8, 0, 1, 0xc0, 0xa8, 0, 0xc7});
    EXPECT_EQ(ChecksumFinish(ChecksumAdd(0, h)), 0xb861);
    h[10] = 0xb8;
    h[11] = 0x61;
    EXPECT_EQ(ChecksumFinish(ChecksumAdd(0, h)), 0) << "a correct header sums to zero";
}

TEST(PacketChecksum, OddLengthPadsWithZero) {
    EXPECT_EQ(ChecksumAdd(0, Bytes({0x12, 0x34, 0x56})), 0x1234u + 0x5600u);
}

TEST(PacketChecksum, Ipv4UdpLengthsAndChecksums) {
    auto p = Udp4();
    ASSERT_TRUE(RecomputePacketChecksums(p).ok());
    EXPECT_EQ(At16(p, 2), 40) << "IPv4 total length";
    EXPECT_EQ(At16(p, 10), 0x2a8f) << "IPv4 header checksum";
    EXPECT_EQ(At16(p, 24), 20) << "UDP length";
    EXPECT_EQ(At16(p, 26), 0xf178) << "UDP checksum";
}

TEST(PacketChecksum, Ipv4Tcp) {
    auto p =
        Bytes({0x45, 0,    0, 0,  0, 1, 0, 0, 64, 6, 0, 0, 10,   0,    0,    1, 10,   0,    0, 2,
               0x04, 0xd2, 0, 80, 0, 0, 0, 1, 0,  0, 0, 2, 0x50, 0x18, 0x02, 0, 0x77, 0x77, 0, 0});
    Append(p, "GET /");
    ASSERT_TRUE(RecomputePacketChecksums(p).ok());
    EXPECT_EQ(At16(p, 10), 0x66c8);
    EXPECT_EQ(At16(p, 36), 0xca3a) << "TCP checksum";
}

TEST(PacketChecksum, Ipv6Udp) {
    auto p = Bytes({0x60, 0, 0, 0, 0xde, 0xad, 17, 64});
    for (int addr = 0; addr < 2; ++addr) {
        for (int i = 0; i < 15; ++i) p.push_back(0);
        p.push_back(1);
    }
    Append(p, std::string("\x9c\x40\x27\x0f\xde\xad\xde\xad", 8));
    Append(p, "hello XXXXXX");
    ASSERT_TRUE(RecomputePacketChecksums(p).ok());
    EXPECT_EQ(At16(p, 4), 20) << "IPv6 payload length";
    EXPECT_EQ(At16(p, 44), 20) << "UDP length";
    EXPECT_EQ(At16(p, 46), 0xef79) << "UDP checksum";
}

TEST(PacketChecksum, Ipv4FragmentKeepsTransportChecksum) {
    auto p = Udp4();
    p[6] = 0x20;  // more fragments
    ASSERT_TRUE(RecomputePacketChecksums(p).ok());
    EXPECT_EQ(ChecksumFinish(ChecksumAdd(0, std::span(p).first(20))), 0);
    EXPECT_EQ(At16(p, 26), 0xdead) << "a fragment's UDP checksum covers the whole datagram";
}

TEST(PacketChecksum, OtherProtocolsOnlyFixTheIpHeader) {
    auto p = Udp4();
    p[9] = 1;  // ICMP
    ASSERT_TRUE(RecomputePacketChecksums(p).ok());
    EXPECT_EQ(ChecksumFinish(ChecksumAdd(0, std::span(p).first(20))), 0);
    EXPECT_EQ(At16(p, 26), 0xdead);
}

TEST(PacketChecksum, RefusesWhatIsNotAnIpPacket) {
    std::vector<std::vector<uint8_t>> bad = {
        {},
        Bytes({0x45, 0, 0, 20}),                                                   // short IPv4
        Bytes({0x46, 0, 0, 0, 0, 0, 0, 0, 64, 17, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8}),  // IHL past end
        Bytes({0x44, 0, 0, 0, 0, 0, 0, 0, 64, 17, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8}),  // IHL < 5
        Bytes({0x60, 0, 0, 0}),                                                    // short IPv6
        std::vector<uint8_t>(40, 0x50),                                            // version 5
    };
    auto udp_short = Udp4();
    udp_short.resize(24);  // 4 bytes of UDP header
    bad.push_back(udp_short);
    for (auto& p : bad) {
        Status st = RecomputePacketChecksums(p);
        EXPECT_EQ(st.code(), ErrorCode::kMalformed) << p.size() << " bytes";
        EXPECT_NE(st.message().find("changed packet"), std::string::npos) << st.message();
    }
    std::vector<uint8_t> huge(65536, 0);
    huge[0] = 0x45;
    EXPECT_EQ(RecomputePacketChecksums(huge).code(), ErrorCode::kMalformed);
}

// The rule for CHANGED packets (issue 13, item 8): a payload change, with
// its new lengths and checksums, keeps PacketHeaders; a new address, port,
// protocol or TTL does not.
TEST(PacketHeaders, APayloadChangeKeepsThemAHeaderChangeDoesNot) {
    auto original = Udp4();
    ASSERT_TRUE(RecomputePacketChecksums(original).ok());
    auto headers = PacketHeaders(original);
    ASSERT_EQ(headers.size(), 28u) << "IPv4 and UDP headers";

    auto longer = Udp4();
    longer.resize(28);
    Append(longer, "a longer, redacted payload");
    ASSERT_TRUE(RecomputePacketChecksums(longer).ok());
    EXPECT_EQ(PacketHeaders(longer), headers) << "only the payload (and lengths) changed";

    struct Edit {
        const char* what;
        size_t at;
        uint8_t value;
    };
    for (Edit e : {Edit{"destination address", 19, 2}, Edit{"source address", 15, 9},
                   Edit{"destination port", 23, 0x10}, Edit{"source port", 21, 0x41},
                   Edit{"protocol", 9, 6}, Edit{"TTL", 8, 1}}) {
        auto changed = original;
        changed[e.at] = e.value;
        ASSERT_TRUE(RecomputePacketChecksums(changed).ok()) << e.what;
        EXPECT_NE(PacketHeaders(changed), headers) << e.what << " changed unseen";
    }
    EXPECT_TRUE(PacketHeaders(Bytes({1, 2, 3})).empty()) << "not an IP packet";
}

}  // namespace
}  // namespace hvkit::filterd
