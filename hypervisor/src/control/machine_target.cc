// The ControlTarget a real Machine answers through.
#include <unistd.h>

#include "control/control.h"
#include "hvchan/hvchan.h"
#include "takeover/takeover.h"

namespace hvkit::hvmm {

MachineControlTarget::MachineControlTarget(Machine& machine, std::string version,
                                           Predecessor* takeover)
    : machine_(machine),
      version_(std::move(version)),
      takeover_(takeover),
      started_ns_(MonotonicNs()) {}

VmStatusReport MachineControlTarget::Report() const {
    VmStatusReport r;
    r.pid = getpid();
    r.paused = machine_.paused();
    r.vcpus = machine_.vcpu_count();
    r.memory_bytes = machine_.memory().size();
    r.uptime_s = static_cast<uint64_t>((MonotonicNs() - started_ns_) / 1000000000);
    r.version = version_;
    r.devices = machine_.DeviceNames();
    // The release the host's store committed, when this VM may update it.
    if (auto hvchan = std::dynamic_pointer_cast<HvchanDevice>(machine_.FindDevice("hvchan"))) {
        r.committed_version = hvchan->committed_version();
    }
    if (took_over_) r.took_over = took_over_();
    if (trial_state_ && r.took_over.is_object()) r.took_over["trial"] = Json(trial_state_());
    if (takeover_ != nullptr) {
        TakeoverReport t = takeover_->Report();
        if (!t.state.empty()) {
            r.takeover = Json::MakeObject();
            r.takeover["state"] = Json(t.state);
            r.takeover["binary"] = Json(t.binary);
            if (!t.error.empty()) r.takeover["error"] = Json(t.error);
        }
    }
    return r;
}

Status MachineControlTarget::Pause() {
    return machine_.Pause();
}

void MachineControlTarget::Resume() {
    machine_.Resume();
}

Result<FilterAttachment> MachineControlTarget::AttachFilter() {
    auto hvfilt = std::dynamic_pointer_cast<HvfiltDevice>(machine_.FindDevice("hvfilt"));
    if (hvfilt == nullptr) return ControlTarget::AttachFilter();  // the refusal
    return hvfilt->Attach();
}

Status MachineControlTarget::Takeover(const std::string& binary, int64_t trial_ms) {
    if (takeover_ == nullptr) return ControlTarget::Takeover(binary, trial_ms);
    std::optional<TrialOptions> trial;
    if (trial_ms > 0) {
        // An operator's trial: the verdict decides who runs the guest,
        // and no release store is involved.
        trial.emplace();
        trial->deadline = std::chrono::milliseconds(trial_ms);
        trial->on_pass = [] { return Status::Ok(); };
        trial->on_fail = [](const std::string&) {};
    }
    // This hvmm's own binary, even when its file was replaced or removed
    // since it started: the successor execs what this process runs.
    return takeover_->Start(binary.empty() ? "/proc/self/exe" : binary, std::move(trial));
}

void MachineControlTarget::Shutdown() {
    machine_.Stop("shutdown requested on the control socket");
}

}  // namespace hvkit::hvmm
