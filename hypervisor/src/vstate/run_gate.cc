// The run gate: where vCPU threads park while the machine is paused.
#include "hvmm.h"

namespace hvkit::hvmm {

void RunGate::Start(size_t vcpus) {
    std::lock_guard<std::mutex> lock(mu_);
    active_ = vcpus;
    entered_ = 0;
    stopping_ = false;
}

void RunGate::Entered() {
    std::lock_guard<std::mutex> lock(mu_);
    ++entered_;
    changed_.notify_all();
}

bool RunGate::WaitRunning() {
    std::unique_lock<std::mutex> lock(mu_);
    changed_.wait(lock,
                  [&] { return stopping_ || closed_ || (entered_ >= active_ && parked_ == 0); });
    return !stopping_ && !closed_;
}

void RunGate::Left() {
    std::lock_guard<std::mutex> lock(mu_);
    if (active_ > 0) --active_;
    changed_.notify_all();
}

void RunGate::Stopping() {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    changed_.notify_all();
}

void RunGate::Close() {
    std::lock_guard<std::mutex> lock(mu_);
    closed_ = true;
    changed_.notify_all();
}

void RunGate::Open() {
    std::lock_guard<std::mutex> lock(mu_);
    closed_ = false;
    changed_.notify_all();
}

bool RunGate::closed() const {
    std::lock_guard<std::mutex> lock(mu_);
    return closed_;
}

bool RunGate::WaitParked(size_t excluding) {
    std::unique_lock<std::mutex> lock(mu_);
    changed_.wait(lock, [&] { return stopping_ || !closed_ || parked_ + excluding >= active_; });
    return !stopping_ && closed_;
}

void RunGate::ParkWhileClosed() {
    std::unique_lock<std::mutex> lock(mu_);
    if (!closed_ || stopping_) return;
    ++parked_;
    changed_.notify_all();
    changed_.wait(lock, [&] { return !closed_ || stopping_; });
    --parked_;
    changed_.notify_all();  // WaitRunning() counts the parked
}

}  // namespace hvkit::hvmm
