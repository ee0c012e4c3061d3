// A clock whose wall reading is a test's own `now` variable, which the test
// moves by assignment (TUF and repository tests count expiry from it).
#pragma once

#include <chrono>
#include <cstdint>

#include "hvkit/clock.h"

namespace hvkit::testing {

class NowClock final : public Clock {
  public:
    explicit NowClock(const int64_t& now) : now_(now) {}
    MonoTime Now() const override { return MonoTime() + std::chrono::seconds(now_); }
    int64_t UnixSeconds() const override { return now_; }

  private:
    const int64_t& now_;
};

}  // namespace hvkit::testing
