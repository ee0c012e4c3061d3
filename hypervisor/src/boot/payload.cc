// Flat real-mode payloads: raw code copied to kRealModeLoad, no protocol.
// Tests use them to drive exits on a KVM that cannot boot Linux.
#include "arch/x86_64/layout.h"
#include "hvmm.h"

namespace hvkit::hvmm {

Status LoadRealModePayload(GuestMemory& memory, std::span<const uint8_t> payload) {
    if (payload.empty() || payload.size() > layout::kRealModeMaxSize) {
        return Error(ErrorCode::kInvalidArgument,
                     "real-mode payload is " + std::to_string(payload.size()) +
                         " bytes; it must be 1 to " + std::to_string(layout::kRealModeMaxSize));
    }
    return memory.Write(layout::kRealModeLoad, payload);
}

}  // namespace hvkit::hvmm
