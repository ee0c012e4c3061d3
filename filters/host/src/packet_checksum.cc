// Lengths and checksums of a changed IP packet (packet_checksum.h).
#include "hvkit/filterd/packet_checksum.h"

#include <string>

namespace hvkit::filterd {

namespace {

constexpr uint8_t kProtoTcp = 6;
constexpr uint8_t kProtoUdp = 17;
constexpr size_t kIpv4MinHeader = 20;
constexpr size_t kIpv6Header = 40;
constexpr size_t kTcpMinHeader = 20;
constexpr size_t kUdpHeader = 8;
constexpr size_t kTcpChecksumAt = 16;
constexpr size_t kUdpChecksumAt = 6;

void Put16(std::vector<uint8_t>& p, size_t at, uint16_t v) {
    p[at] = static_cast<uint8_t>(v >> 8);
    p[at + 1] = static_cast<uint8_t>(v & 0xff);
}

Status Malformed(const std::string& why) {
    return Error(ErrorCode::kMalformed, "changed packet: " + why);
}

// Sets the checksum of the TCP or UDP segment at (l4) of (packet), whose
// pseudo header sum (excluding the length) is (pseudo).
Status FixTransport(std::vector<uint8_t>& packet, size_t l4, uint8_t proto, uint32_t pseudo) {
    size_t length = packet.size() - l4;
    size_t field = 0;
    if (proto == kProtoTcp) {
        if (length < kTcpMinHeader) return Malformed("TCP segment shorter than 20 bytes");
        field = l4 + kTcpChecksumAt;
    } else if (proto == kProtoUdp) {
        if (length < kUdpHeader) return Malformed("UDP datagram shorter than 8 bytes");
        Put16(packet, l4 + 4, static_cast<uint16_t>(length));
        field = l4 + kUdpChecksumAt;
    } else {
        return Status::Ok();  // no checksum hvfilterd knows how to fix
    }
    Put16(packet, field, 0);
    uint32_t sum = pseudo + static_cast<uint32_t>(length);
    sum = ChecksumAdd(sum, std::span<const uint8_t>(packet).subspan(l4));
    uint16_t check = ChecksumFinish(sum);
    // In UDP a zero checksum means "none"; a computed zero is sent as ones.
    if (proto == kProtoUdp && check == 0) check = 0xffff;
    Put16(packet, field, check);
    return Status::Ok();
}

Status FixIpv4(std::vector<uint8_t>& packet) {
    size_t header = size_t{packet[0] & 0x0fu} * 4;
    if (header < kIpv4MinHeader) return Malformed("IPv4 header length below 20 bytes");
    if (header > packet.size()) return Malformed("IPv4 header longer than the packet");
    Put16(packet, 2, static_cast<uint16_t>(packet.size()));
    Put16(packet, 10, 0);
    Put16(packet, 10, ChecksumFinish(ChecksumAdd(0, std::span(packet).first(header))));
    bool fragment = ((packet[6] & 0x3fu) | packet[7]) != 0;  // MF flag or an offset
    if (fragment) return Status::Ok();  // the L4 checksum covers the whole datagram
    uint32_t pseudo = ChecksumAdd(0, std::span<const uint8_t>(packet).subspan(12, 8));
    pseudo += packet[9];
    return FixTransport(packet, header, packet[9], pseudo);
}

Status FixIpv6(std::vector<uint8_t>& packet) {
    if (packet.size() < kIpv6Header) return Malformed("IPv6 packet shorter than 40 bytes");
    Put16(packet, 4, static_cast<uint16_t>(packet.size() - kIpv6Header));
    uint8_t next = packet[6];
    uint32_t pseudo = ChecksumAdd(0, std::span<const uint8_t>(packet).subspan(8, 32));
    pseudo += next;
    return FixTransport(packet, kIpv6Header, next, pseudo);
}

}  // namespace

uint32_t ChecksumAdd(uint32_t sum, std::span<const uint8_t> bytes) {
    size_t i = 0;
    for (; i + 1 < bytes.size(); i += 2) {
        sum += (uint32_t{bytes[i]} << 8) | bytes[i + 1];
        if (sum & 0x80000000u) sum = (sum & 0xffff) + (sum >> 16);
    }
    if (i < bytes.size()) sum += uint32_t{bytes[i]} << 8;
    return sum;
}

uint16_t ChecksumFinish(uint32_t sum) {
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    return static_cast<uint16_t>(~sum & 0xffff);
}

std::vector<uint8_t> PacketHeaders(std::span<const uint8_t> p) {
    size_t l4 = 0;
    uint8_t proto = 0;
    bool later_fragment = false;
    if (p.size() >= kIpv4MinHeader && p[0] >> 4 == 4) {
        l4 = size_t{p[0] & 0x0fu} * 4;
        if (l4 < kIpv4MinHeader || l4 > p.size()) return {};
        proto = p[9];
        later_fragment = ((p[6] & 0x1fu) | p[7]) != 0;  // a fragment offset
    } else if (p.size() >= kIpv6Header && p[0] >> 4 == 6) {
        l4 = kIpv6Header;
        proto = p[6];
    } else {
        return {};
    }
    size_t end = l4;
    if (!later_fragment && proto == kProtoUdp && p.size() >= l4 + kUdpHeader) {
        end = l4 + kUdpHeader;
    } else if (!later_fragment && proto == kProtoTcp && p.size() >= l4 + kTcpMinHeader) {
        size_t header = static_cast<size_t>(p[l4 + 12] >> 4) * 4;
        end = header >= kTcpMinHeader && l4 + header <= p.size() ? l4 + header : l4 + kTcpMinHeader;
    }
    std::vector<uint8_t> out(p.begin(), p.begin() + static_cast<std::ptrdiff_t>(end));
    auto zero = [&](size_t at) {
        if (at + 2 <= out.size()) Put16(out, at, 0);
    };
    if (p[0] >> 4 == 4) {
        zero(2);   // total length
        zero(10);  // header checksum
    } else {
        zero(4);  // payload length
    }
    if (end > l4 && proto == kProtoUdp) {
        zero(l4 + 4);  // length
        zero(l4 + kUdpChecksumAt);
    } else if (end > l4 && proto == kProtoTcp) {
        zero(l4 + kTcpChecksumAt);
    }
    return out;
}

Status RecomputePacketChecksums(std::vector<uint8_t>& packet) {
    if (packet.empty()) return Malformed("empty");
    if (packet.size() > 65535) return Malformed("longer than 65535 bytes");
    switch (packet[0] >> 4) {
        case 4:
            if (packet.size() < kIpv4MinHeader)
                return Malformed("IPv4 packet shorter than 20 bytes");
            return FixIpv4(packet);
        case 6:
            return FixIpv6(packet);
        default:
            return Malformed("IP version " + std::to_string(packet[0] >> 4) + " is not 4 or 6");
    }
}

}  // namespace hvkit::filterd
