// IP packets built byte by byte for the filter-module tests, as hvfilterd
// would hand them over: starting at the IP header, no link layer.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

namespace hvkit::testing {

enum class Transport { kTcp, kUdp };

// Where the parts of a built packet lie.
struct TestPacket {
    std::vector<uint8_t> bytes;
    size_t payload_offset = 0;  // the first transport payload byte
};

// 10.0.0.1 -> 10.0.0.2 carrying (payload) over (transport) from (src_port) to
// (dst_port). TCP headers carry 12 bytes of options (data offset 8).
TestPacket Ipv4Packet(Transport transport, uint16_t src_port, uint16_t dst_port,
                      std::string_view payload);

// fd00::1 -> fd00::2, with a destination-options extension header in front
// of the transport header when (with_extension).
TestPacket Ipv6Packet(Transport transport, uint16_t src_port, uint16_t dst_port,
                      std::string_view payload, bool with_extension = false);

}  // namespace hvkit::testing
