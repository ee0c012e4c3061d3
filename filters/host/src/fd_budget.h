// hvfilterd's file descriptors against RLIMIT_NOFILE. A fanotify permission
// event arrives with an open fd of the file, held until the verdict: a file
// source may hold up to its max_pending of them. A limit found too low only
// when events arrive would fail them one by one under load; checked at
// start-up, it is one clear error naming both numbers.
#pragma once

#include <cstdint>

#include "hvkit/filterd/config.h"
#include "hvkit/status.h"

namespace hvkit::filterd {

// Fds hvfilterd needs besides the pending events: sockets, queues,
// fanotify groups, eventfds, the ring's fds, stdio, with room to spare.
inline constexpr uint64_t kFdsBesidesEvents = 256;

// The most fds (config) can make hvfilterd hold.
uint64_t FdsNeeded(const FilterConfig& config);

// The soft RLIMIT_NOFILE to run with, for (needed) fds and the limits
// (soft, hard): (soft) when it suffices, else (needed) when (hard) allows
// it; kInvalidArgument naming the numbers and what to change otherwise.
Result<uint64_t> SoftLimitFor(uint64_t needed, uint64_t soft, uint64_t hard);

// SoftLimitFor with this process's limits, raising its soft limit if need be.
Status ReserveFds(const FilterConfig& config);

}  // namespace hvkit::filterd
