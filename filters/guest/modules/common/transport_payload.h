// Where a network item's transport payload lies: after the IPv4 or IPv6
// header (with IPv6 extension headers) and the TCP or UDP header. Every field
// read is bounds-checked; the packet is host data and may be anything.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

namespace hvkit::filters {

struct PayloadRange {
    size_t offset = 0;  // first payload byte within the packet
    size_t length = 0;  // up to the end the IP header declares (padding excluded)
};

// The TCP/UDP payload of (packet), which starts at its IP header. nullopt when
// the packet is not IPv4/IPv6 carrying TCP or UDP, is not the first fragment,
// or its headers are truncated or inconsistent.
std::optional<PayloadRange> FindTransportPayload(std::span<const uint8_t> packet);

}  // namespace hvkit::filters
