// What the fanotify source saw and did, beside the dispatcher's per-source
// counters: the kernel-facing facts the dispatcher cannot know (overflow
// notices, read errors, CHANGED verdicts that became FAN_DENY).
#pragma once

#include <cstdint>

#include "hvkit/json.h"

namespace hvkit::filterd {

// Every permission event read ends in exactly one of allowed or denied
// (once nothing is outstanding): events = allowed + denied. A response the
// kernel refused is still counted there, and in response_errors too.
struct FanotifyStats {
    uint64_t events = 0;                // permission events read from the kernel
    uint64_t allowed = 0;               // answered FAN_ALLOW
    uint64_t denied = 0;                // answered FAN_DENY
    uint64_t changed_denied = 0;        // CHANGED verdicts answered FAN_DENY
    uint64_t own_process = 0;           // hvfilterd's own accesses, allowed at once
    uint64_t content_errors = 0;        // content unreadable: answered by on_guest_absent
    uint64_t answered_at_shutdown = 0;  // answered by on_guest_absent in Shutdown
    uint64_t overflows = 0;             // FAN_Q_OVERFLOW notices
    uint64_t read_errors = 0;           // reads of the fanotify fd that failed
    uint64_t response_errors = 0;       // responses the kernel refused
    uint64_t unexpected_events = 0;     // not a permission event, or malformed

    bool operator==(const FanotifyStats&) const = default;
};

// {"events": n, "allowed": n, ...}: every counter under its field name.
Json FanotifyStatsJson(const FanotifyStats& stats);

}  // namespace hvkit::filterd
