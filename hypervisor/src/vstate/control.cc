// The VM's stop latch.
#include <sys/eventfd.h>
#include <unistd.h>

#include "hvmm.h"

namespace hvkit::hvmm {

const char* StopReasonName(StopReason reason) {
    switch (reason) {
        case StopReason::kNone:
            return "running";
        case StopReason::kGuestReset:
            return "guest reset";
        case StopReason::kGuestShutdown:
            return "guest shutdown";
        case StopReason::kGuestTripleFault:
            return "guest triple fault";
        case StopReason::kGuestCrash:
            return "guest crash";
        case StopReason::kHostRequest:
            return "host request";
        case StopReason::kHandedOver:
            return "handed over";
        case StopReason::kError:
            return "error";
    }
    return "unknown";
}

VmControl::VmControl() : eventfd_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {}

void VmControl::RequestStop(StopReason reason, std::string detail) {
    {
        std::lock_guard<std::mutex> lock(mu_);
        if (reason_.load() != StopReason::kNone) return;
        detail_ = std::move(detail);
        reason_.store(reason);
    }
    uint64_t one = 1;
    if (eventfd_.valid()) {
        [[maybe_unused]] ssize_t n = ::write(eventfd_.get(), &one, sizeof one);
    }
}

std::string VmControl::detail() const {
    std::lock_guard<std::mutex> lock(mu_);
    return detail_;
}

}  // namespace hvkit::hvmm
