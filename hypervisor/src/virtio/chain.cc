// A descriptor chain's bytes as one readable and one writable stream.
#include <cstring>

#include "virtio/virtio.h"

namespace hvkit::hvmm {

Result<std::vector<std::span<uint8_t>>> ChainSpans(GuestMemory& memory,
                                                   const DescriptorChain& chain, bool writable,
                                                   uint64_t offset, uint64_t len) {
    std::vector<std::span<uint8_t>> spans;
    uint64_t at = 0;  // stream offset of the current buffer's first byte
    uint64_t end = offset + len;
    if (end < offset) return Error(ErrorCode::kRefused, "chain range overflows");
    for (const VirtBuffer& b : chain.buffers) {
        if (b.writable != writable) continue;
        uint64_t b_end = at + b.len;
        if (b_end > offset && at < end) {
            uint64_t from = offset > at ? offset - at : 0;
            uint64_t to = (end < b_end ? end : b_end) - at;
            HVKIT_ASSIGN_OR_RETURN(auto span, memory.Slice(b.gpa + from, to - from));
            spans.push_back(span);
        }
        at = b_end;
        if (at >= end) break;
    }
    if (at < end) {
        return Error(ErrorCode::kRefused, std::string("the chain's ") +
                                              (writable ? "writable" : "readable") +
                                              " part holds " + std::to_string(at) +
                                              " bytes, fewer than " + std::to_string(end));
    }
    return spans;
}

Status ReadFromChain(GuestMemory& memory, const DescriptorChain& chain, uint64_t offset,
                     std::span<uint8_t> out) {
    if (out.empty()) return Status::Ok();
    HVKIT_ASSIGN_OR_RETURN(auto spans, ChainSpans(memory, chain, false, offset, out.size()));
    size_t done = 0;
    for (auto s : spans) {
        std::memcpy(out.data() + done, s.data(), s.size());
        done += s.size();
    }
    return Status::Ok();
}

Status WriteToChain(GuestMemory& memory, const DescriptorChain& chain, uint64_t offset,
                    std::span<const uint8_t> bytes) {
    if (bytes.empty()) return Status::Ok();
    HVKIT_ASSIGN_OR_RETURN(auto spans, ChainSpans(memory, chain, true, offset, bytes.size()));
    size_t done = 0;
    for (auto s : spans) {
        std::memcpy(s.data(), bytes.data() + done, s.size());
        done += s.size();
    }
    return Status::Ok();
}

}  // namespace hvkit::hvmm
