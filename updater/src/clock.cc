// The real clock (clock.h).
#include "hvkit/clock.h"

#include <ctime>

namespace hvkit {

namespace {

class SystemClock final : public Clock {
  public:
    MonoTime Now() const override { return std::chrono::steady_clock::now(); }
    int64_t UnixSeconds() const override { return static_cast<int64_t>(time(nullptr)); }
};

}  // namespace

const Clock& RealClock() {
    static const SystemClock clock;
    return clock;
}

}  // namespace hvkit
