// Running a built machine: one thread per vCPU, a wait for the stop latch
// (and, for the hvmm process, SIGINT/SIGTERM), then kick and join; pausing
// parks the vCPU threads on the run gate.
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <thread>

#include "hvmm.h"

namespace hvkit::hvmm {

namespace {

// The machine whose vCPU runs on this thread, if any: Pause() from a device
// handler must not wait for its own thread to park.
thread_local const Machine* current_vcpu_machine = nullptr;

}  // namespace

int64_t MonotonicNs() {
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return int64_t{ts.tv_sec} * 1000000000 + ts.tv_nsec;
}

Machine::~Machine() {
    // Device threads go first: members (memory, VM) are destroyed after this.
    for (auto& device : devices_) device->Shutdown();
}

StopReason Machine::Run(bool handle_host_signals, const std::function<void()>& started) {
    sigset_t host_signals, old_mask;
    sigemptyset(&host_signals);
    UniqueFd sigfd;
    if (handle_host_signals) {
        sigaddset(&host_signals, SIGINT);
        sigaddset(&host_signals, SIGTERM);
        // Blocked before the vCPU threads start, so they inherit the mask and
        // the signals arrive only through the signalfd.
        pthread_sigmask(SIG_BLOCK, &host_signals, &old_mask);
        sigfd = UniqueFd(signalfd(-1, &host_signals, SFD_CLOEXEC));
    }
    std::vector<std::thread> threads;
    threads.reserve(vcpus_.size());
    gate_.Start(vcpus_.size());
    {
        std::lock_guard<std::mutex> lock(threads_mu_);
        for (auto& vcpu : vcpus_) {
            Vcpu* v = vcpu.get();
            threads.emplace_back([this, v] {
                current_vcpu_machine = this;
                gate_.Entered();
                v->RunLoop(pio_, mmio_, control_, gate_);
                gate_.Left();
            });
            running_.push_back(threads.back().native_handle());
        }
    }
    if (started) started();
    while (!control_.stop_requested()) {
        pollfd fds[2] = {{control_.eventfd(), POLLIN, 0}, {sigfd.get(), POLLIN, 0}};
        int n = poll(fds, sigfd.valid() ? 2 : 1, -1);
        if (n < 0 && errno != EINTR) {
            control_.RequestStop(StopReason::kError, "poll on the stop latch failed");
        }
        if (sigfd.valid() && (fds[1].revents & POLLIN)) {
            signalfd_siginfo info{};
            if (read(sigfd.get(), &info, sizeof info) == sizeof info) {
                control_.RequestStop(StopReason::kHostRequest,
                                     std::string("received ") + strsignal(info.ssi_signo));
            }
        }
    }
    gate_.Stopping();  // parked vCPUs wake, see the stop and return
    {
        std::lock_guard<std::mutex> lock(threads_mu_);
        for (size_t i = 0; i < threads.size(); ++i) vcpus_[i]->Kick(threads[i].native_handle());
        running_.clear();  // joined below: Pause() must not signal them any more
    }
    for (auto& t : threads) t.join();
    if (handle_host_signals) pthread_sigmask(SIG_SETMASK, &old_mask, nullptr);
    return control_.reason();
}

Status Machine::Pause() {
    if (control_.stop_requested()) {
        return Error(ErrorCode::kConflict, "cannot pause: the VM is stopping (" +
                                               std::string(StopReasonName(control_.reason())) +
                                               ")");
    }
    gate_.Close();
    {
        // Kicked after the close, so each vCPU either sees the closed gate at
        // its next pass or returns from KVM_RUN to check it.
        std::lock_guard<std::mutex> lock(threads_mu_);
        for (size_t i = 0; i < running_.size(); ++i) vcpus_[i]->Kick(running_[i]);
    }
    // A vCPU that left its loop (the guest reset) no longer counts as
    // running, so check the stop latch even when the wait succeeded.
    if (!gate_.WaitParked(current_vcpu_machine == this ? 1 : 0) || control_.stop_requested()) {
        if (control_.stop_requested()) {
            return Error(ErrorCode::kConflict, "the VM stopped while pausing (" +
                                                   std::string(StopReasonName(control_.reason())) +
                                                   ")");
        }
        return Error(ErrorCode::kConflict, "the VM was resumed before every vCPU paused");
    }
    return Status::Ok();
}

void Machine::Resume() {
    gate_.Open();
}

std::vector<std::string> Machine::DeviceNames() const {
    std::vector<std::string> names;
    for (const auto& d : devices_) names.emplace_back(d->name());
    return names;
}

Json Machine::SaveDevices() const {
    Json state = Json::MakeObject();
    for (const auto& d : devices_) state[d->name()] = d->Save();
    return state;
}

Status Machine::RestoreDevices(const Json& state) {
    if (!state.is_object()) {
        return Error(ErrorCode::kMalformed, "saved device state is not an object");
    }
    for (const auto& [name, value] : state.as_object()) {
        if (FindDevice(name) == nullptr) {
            return Error(ErrorCode::kMalformed, "saved device state names device \"" + name +
                                                    "\", which this machine lacks");
        }
    }
    for (const auto& d : devices_) {
        if (state.Find(d->name()) == nullptr) {
            return Error(ErrorCode::kMalformed,
                         "saved device state lacks device \"" + std::string(d->name()) + "\"");
        }
    }
    // All or nothing: when a device refuses its state, the ones already
    // restored get their previous state back.
    Json previous = SaveDevices();
    for (size_t i = 0; i < devices_.size(); ++i) {
        Status st = devices_[i]->Restore(*state.Find(devices_[i]->name()));
        if (!st.ok()) {
            for (size_t j = 0; j < i; ++j) {
                (void)devices_[j]->Restore(*previous.Find(devices_[j]->name()));
            }
            return st;
        }
    }
    for (const auto& d : devices_) HVKIT_RETURN_IF_ERROR(d->Restored());
    return Status::Ok();
}

std::shared_ptr<DeviceState> Machine::FindDevice(std::string_view name) const {
    for (const auto& d : devices_) {
        if (d->name() == name) return d;
    }
    return nullptr;
}

}  // namespace hvkit::hvmm
