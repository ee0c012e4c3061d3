// Time, as one injected interface (LevelDB's Env habit): every deadline,
// session timeout, expiry check and journal timestamp in hvkit reads a
// Clock, so a test moves time by hand instead of sleeping or patching code.
#pragma once

#include <chrono>
#include <cstdint>

namespace hvkit {

using MonoTime = std::chrono::steady_clock::time_point;

class Clock {
  public:
    virtual ~Clock() = default;
    // Monotonic time, for deadlines and timeouts; never goes backwards.
    virtual MonoTime Now() const = 0;
    // Seconds since the Unix epoch, for expiry (TUF, packages) and records.
    virtual int64_t UnixSeconds() const = 0;
};

// The real clock: CLOCK_MONOTONIC and CLOCK_REALTIME. One per process.
const Clock& RealClock();

// A clock that moves only when told: for tests and simulations.
class ManualClock final : public Clock {
  public:
    MonoTime Now() const override { return now_; }
    int64_t UnixSeconds() const override { return unix_seconds_; }
    // Moves both readings on by (by).
    void Advance(std::chrono::steady_clock::duration by) {
        now_ += by;
        unix_seconds_ += std::chrono::duration_cast<std::chrono::seconds>(by).count();
    }
    // Sets the wall reading alone (the monotonic one never goes back).
    void SetUnixSeconds(int64_t seconds) { unix_seconds_ = seconds; }

  private:
    MonoTime now_ = MonoTime() + std::chrono::hours(1);
    int64_t unix_seconds_ = 1'700'000'000;
};

}  // namespace hvkit
