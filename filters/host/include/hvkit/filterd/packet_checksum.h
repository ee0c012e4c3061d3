// Checksums of an IP packet that a guest changed (CHANGED verdict): before
// the new bytes go back to the kernel, the lengths and checksums in the
// IPv4/IPv6 header and the TCP/UDP header must describe the new bytes, or
// the receiver drops the packet (docs/filters.md, "Network source").
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "hvkit/status.h"

namespace hvkit::filterd {

// The Internet checksum (RFC 1071) arithmetic: a 32-bit running sum of
// 16-bit big-endian words. (sum) carries the words added so far; an odd
// trailing byte is padded with zero.
uint32_t ChecksumAdd(uint32_t sum, std::span<const uint8_t> bytes);

// Folds (sum) to 16 bits and complements it: the value for a checksum field.
uint16_t ChecksumFinish(uint32_t sum);

// Rewrites (packet), an IPv4 or IPv6 packet starting at the IP header, so
// its headers describe it: the IPv4 total length and header checksum, or
// the IPv6 payload length; and, when the transport header follows the IP
// header directly (IPv6: no extension header) and the packet is not a
// fragment, the UDP length and the TCP or UDP checksum over the pseudo
// header. Refuses (kMalformed) bytes that are not such a packet: too short
// for its headers, a version other than 4 or 6, an IPv4 header length
// below 20 or past the end, or a packet longer than 65535 bytes.
Status RecomputePacketChecksums(std::vector<uint8_t>& packet);

// The IP header and the TCP or UDP header of (packet) (IPv6: when no
// extension header comes between; IPv4: not in a later fragment), with the
// fields a payload change alters (lengths, checksums) zeroed: two packets
// whose PacketHeaders are equal differ in their payload alone. Empty for
// bytes that are not an IP packet.
std::vector<uint8_t> PacketHeaders(std::span<const uint8_t> packet);

}  // namespace hvkit::filterd
