// Whether this machine can intercept file accesses: for tests that must
// skip with a reason, and for a startup check.
#pragma once

#include <cstdint>
#include <string>

#include "hvkit/status.h"

namespace hvkit::filterd {

// Creates a throwaway FAN_CLASS_CONTENT group and marks the directory
// (dir) with (mask) (FAN_OPEN_PERM, FAN_OPEN_EXEC_PERM, ...). OK when the
// kernel and the caller's privileges allow it; otherwise the reason.
Status ProbeFanotifyPermissionEvents(const std::string& dir, uint64_t mask);

}  // namespace hvkit::filterd
