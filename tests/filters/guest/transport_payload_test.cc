// Finding the transport payload in packets, and refusing what does not parse.
#include "transport_payload.h"

#include <gtest/gtest.h>

#include "test_packets.h"

namespace hvkit::filters {
namespace {

using testing::Ipv4Packet;
using testing::Ipv6Packet;
using testing::TestPacket;
using testing::Transport;

void ExpectPayloadAt(const TestPacket& packet, size_t payload_len) {
    std::optional<PayloadRange> range = FindTransportPayload(packet.bytes);
    ASSERT_TRUE(range.has_value());
    EXPECT_EQ(range->offset, packet.payload_offset);
    EXPECT_EQ(range->length, payload_len);
}

TEST(TransportPayloadTest, FindsPayloadBehindEveryHeaderKind) {
    ExpectPayloadAt(Ipv4Packet(Transport::kUdp, 1, 2, "hello"), 5);
    ExpectPayloadAt(Ipv4Packet(Transport::kTcp, 1, 2, "hello"), 5);  // TCP options skipped
    ExpectPayloadAt(Ipv6Packet(Transport::kUdp, 1, 2, "hello"), 5);
    ExpectPayloadAt(Ipv6Packet(Transport::kTcp, 1, 2, "hello", true), 5);
    ExpectPayloadAt(Ipv4Packet(Transport::kUdp, 1, 2, ""), 0);
}

TEST(TransportPayloadTest, IgnoresLinkPaddingPastTheIpLength) {
    TestPacket packet = Ipv4Packet(Transport::kUdp, 1, 2, "abc");
    packet.bytes.resize(packet.bytes.size() + 10, 0);
    ExpectPayloadAt(packet, 3);
}

TEST(TransportPayloadTest, RefusesEveryTruncation) {
    for (const TestPacket& packet :
         {Ipv4Packet(Transport::kTcp, 1, 2, "x"), Ipv6Packet(Transport::kTcp, 1, 2, "x", true)}) {
        for (size_t cut = 0; cut < packet.bytes.size(); ++cut) {
            std::span<const uint8_t> prefix(packet.bytes.data(), cut);
            EXPECT_FALSE(FindTransportPayload(prefix).has_value()) << "cut at " << cut;
        }
    }
}

TEST(TransportPayloadTest, RefusesLaterFragmentsOtherProtocolsAndBadLengths) {
    TestPacket fragment = Ipv4Packet(Transport::kUdp, 1, 2, "abc");
    fragment.bytes[7] = 1;  // fragment offset 8 bytes
    EXPECT_FALSE(FindTransportPayload(fragment.bytes).has_value());

    TestPacket icmp = Ipv4Packet(Transport::kUdp, 1, 2, "abc");
    icmp.bytes[9] = 1;
    EXPECT_FALSE(FindTransportPayload(icmp.bytes).has_value());

    TestPacket short_ihl = Ipv4Packet(Transport::kUdp, 1, 2, "abc");
    short_ihl.bytes[0] = 0x44;
    EXPECT_FALSE(FindTransportPayload(short_ihl.bytes).has_value());

    TestPacket bad_tcp = Ipv4Packet(Transport::kTcp, 1, 2, "abc");
    bad_tcp.bytes[20 + 12] = 15 << 4;  // a 60-byte TCP header in a shorter packet
    EXPECT_FALSE(FindTransportPayload(bad_tcp.bytes).has_value());

    std::vector<uint8_t> not_ip = {0x15, 0, 0, 0};
    EXPECT_FALSE(FindTransportPayload(not_ip).has_value());
}

}  // namespace
}  // namespace hvkit::filters
