// Monotonic time for deadlines: hvkit's one Clock (hvkit/clock.h), injected
// so tests can move it by hand.
#pragma once

#include "hvkit/clock.h"

namespace hvkit::filterd {

using Clock = hvkit::Clock;
using TimePoint = MonoTime;

}  // namespace hvkit::filterd
