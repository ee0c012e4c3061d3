#include "test_packets.h"

namespace hvkit::testing {
namespace {

void Put16(std::vector<uint8_t>& out, uint16_t value) {
    out.push_back(static_cast<uint8_t>(value >> 8));
    out.push_back(static_cast<uint8_t>(value));
}

std::vector<uint8_t> TransportHeader(Transport transport, uint16_t src_port, uint16_t dst_port,
                                     size_t payload_len) {
    std::vector<uint8_t> header;
    Put16(header, src_port);
    Put16(header, dst_port);
    if (transport == Transport::kUdp) {
        Put16(header, static_cast<uint16_t>(8 + payload_len));
        Put16(header, 0);  // checksum: not checked by anyone here
        return header;
    }
    header.insert(header.end(), {0, 0, 0x10, 0, 0, 0, 0x20, 0});         // seq, ack
    header.push_back(8 << 4);                                            // data offset: 32 bytes
    header.push_back(0x18);                                              // PSH|ACK
    Put16(header, 0xffff);                                               // window
    Put16(header, 0);                                                    // checksum
    Put16(header, 0);                                                    // urgent
    header.insert(header.end(), {1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2});  // NOP NOP timestamps
    return header;
}

uint16_t Ipv4HeaderChecksum(const std::vector<uint8_t>& header) {
    uint32_t sum = 0;
    for (size_t i = 0; i + 1 < header.size(); i += 2) sum += header[i] << 8 | header[i + 1];
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    return static_cast<uint16_t>(~sum);
}

}  // namespace

TestPacket Ipv4Packet(Transport transport, uint16_t src_port, uint16_t dst_port,
                      std::string_view payload) {
    std::vector<uint8_t> l4 = TransportHeader(transport, src_port, dst_port, payload.size());
    TestPacket packet;
    auto& b = packet.bytes;
    b = {0x45, 0};
    Put16(b, static_cast<uint16_t>(20 + l4.size() + payload.size()));
    b.insert(b.end(),
             {0x12, 0x34, 0x40, 0, 64, transport == Transport::kTcp ? uint8_t{6} : uint8_t{17}, 0,
              0, 10, 0, 0, 1, 10, 0, 0, 2});
    uint16_t checksum = Ipv4HeaderChecksum(b);
    b[10] = static_cast<uint8_t>(checksum >> 8);
    b[11] = static_cast<uint8_t>(checksum);
    b.insert(b.end(), l4.begin(), l4.end());
    packet.payload_offset = b.size();
    b.insert(b.end(), payload.begin(), payload.end());
    return packet;
}

TestPacket Ipv6Packet(Transport transport, uint16_t src_port, uint16_t dst_port,
                      std::string_view payload, bool with_extension) {
    std::vector<uint8_t> l4 = TransportHeader(transport, src_port, dst_port, payload.size());
    uint8_t proto = transport == Transport::kTcp ? 6 : 17;
    std::vector<uint8_t> extension;
    if (with_extension) extension = {proto, 0, 1, 4, 0, 0, 0, 0};  // PadN, 8 bytes
    TestPacket packet;
    auto& b = packet.bytes;
    b = {0x60, 0, 0, 0};
    Put16(b, static_cast<uint16_t>(extension.size() + l4.size() + payload.size()));
    b.push_back(with_extension ? uint8_t{60} : proto);
    b.push_back(64);
    for (uint8_t last : {1, 2}) {
        b.insert(b.end(), {0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0});
        b.push_back(last);
    }
    b.insert(b.end(), extension.begin(), extension.end());
    b.insert(b.end(), l4.begin(), l4.end());
    packet.payload_offset = b.size();
    b.insert(b.end(), payload.begin(), payload.end());
    return packet;
}

}  // namespace hvkit::testing
