// What hvfilterd does with one source's items when the guest cannot answer:
// the deadline every item carries and the policy for each way an item can
// go unanswered (docs/design.md, Filters: no host I/O ever waits forever).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace hvkit::filterd {

// fail-open lets the item through (PASS, fanotify FAN_ALLOW); fail-closed
// stops it (DROP, fanotify FAN_DENY).
enum class FailPolicy { kFailOpen, kFailClosed };

// The configuration spelling: "fail-open" or "fail-closed".
const char* FailPolicyName(FailPolicy policy);

struct SourcePolicy {
    std::string name;                                 // the source's configured name, for counters
    std::chrono::milliseconds deadline;               // from submission to the latest answer
    FailPolicy on_timeout = FailPolicy::kFailClosed;  // no verdict by the deadline
    FailPolicy on_guest_absent = FailPolicy::kFailClosed;  // no guest, or it went away
    FailPolicy on_overflow = FailPolicy::kFailClosed;      // max_pending reached, ring full
    uint32_t max_pending = 1024;  // items sent to the guest and not yet answered
};

}  // namespace hvkit::filterd
