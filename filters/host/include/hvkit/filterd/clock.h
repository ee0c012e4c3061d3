// Monotonic time for deadlines, injected so tests can move it by hand.
#pragma once

#include <chrono>

namespace hvkit::filterd {

using TimePoint = std::chrono::steady_clock::time_point;

class Clock {
  public:
    virtual ~Clock() = default;
    // The current monotonic time; never goes backwards.
    virtual TimePoint Now() const = 0;
};

// The real clock: CLOCK_MONOTONIC through std::chrono::steady_clock.
class SteadyClock final : public Clock {
  public:
    TimePoint Now() const override { return std::chrono::steady_clock::now(); }
};

}  // namespace hvkit::filterd
