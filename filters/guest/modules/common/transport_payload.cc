#include "transport_payload.h"

namespace hvkit::filters {
namespace {

constexpr uint8_t kProtoTcp = 6;
constexpr uint8_t kProtoUdp = 17;
constexpr size_t kIpv4MinHeader = 20;
constexpr size_t kIpv6Header = 40;
constexpr size_t kUdpHeader = 8;
constexpr size_t kTcpMinHeader = 20;
// More extension headers than this in one packet is treated as hostile.
constexpr int kMaxIpv6Extensions = 8;

uint16_t Load16(std::span<const uint8_t> p, size_t at) {
    return static_cast<uint16_t>(p[at] << 8 | p[at + 1]);
}

// The transport header of (proto) at (offset) in (packet), which ends at (end).
std::optional<PayloadRange> AfterTransportHeader(std::span<const uint8_t> packet, uint8_t proto,
                                                 size_t offset, size_t end) {
    size_t header = 0;
    if (proto == kProtoUdp) {
        header = kUdpHeader;
    } else if (proto == kProtoTcp) {
        if (end < offset + kTcpMinHeader) return std::nullopt;
        header = static_cast<size_t>(packet[offset + 12] >> 4) * 4;
        if (header < kTcpMinHeader) return std::nullopt;
    } else {
        return std::nullopt;
    }
    if (end < offset + header) return std::nullopt;
    return PayloadRange{offset + header, end - offset - header};
}

std::optional<PayloadRange> Ipv4Payload(std::span<const uint8_t> packet) {
    if (packet.size() < kIpv4MinHeader) return std::nullopt;
    size_t header = static_cast<size_t>(packet[0] & 0x0f) * 4;
    size_t total = Load16(packet, 2);
    if (header < kIpv4MinHeader || total < header || total > packet.size()) return std::nullopt;
    if ((Load16(packet, 6) & 0x1fff) != 0) return std::nullopt;  // a later fragment
    return AfterTransportHeader(packet, packet[9], header, total);
}

std::optional<PayloadRange> Ipv6Payload(std::span<const uint8_t> packet) {
    if (packet.size() < kIpv6Header) return std::nullopt;
    size_t end = kIpv6Header + Load16(packet, 4);
    if (end == kIpv6Header || end > packet.size()) return std::nullopt;  // jumbo or truncated
    uint8_t next = packet[6];
    size_t offset = kIpv6Header;
    for (int i = 0; i <= kMaxIpv6Extensions; ++i) {
        size_t length = 0;
        switch (next) {
            case 0:   // hop-by-hop options
            case 43:  // routing
            case 60:  // destination options
                if (end < offset + 2) return std::nullopt;
                length = (static_cast<size_t>(packet[offset + 1]) + 1) * 8;
                break;
            case 44:  // fragment
                if (end < offset + 8) return std::nullopt;
                if ((Load16(packet, offset + 2) & 0xfff8) != 0) return std::nullopt;
                length = 8;
                break;
            case 51:  // authentication header
                if (end < offset + 2) return std::nullopt;
                length = (static_cast<size_t>(packet[offset + 1]) + 2) * 4;
                break;
            default:
                return AfterTransportHeader(packet, next, offset, end);
        }
        if (end < offset + length) return std::nullopt;
        next = packet[offset];
        offset += length;
    }
    return std::nullopt;
}

}  // namespace

std::optional<PayloadRange> FindTransportPayload(std::span<const uint8_t> packet) {
    if (packet.empty()) return std::nullopt;
    switch (packet[0] >> 4) {
        case 4:
            return Ipv4Payload(packet);
        case 6:
            return Ipv6Payload(packet);
        default:
            return std::nullopt;
    }
}

}  // namespace hvkit::filters
