// Per-source counts of every decision the dispatcher makes, for
// `hvfilterd stats` and for proving that nothing went unanswered.
#pragma once

#include <cstdint>

#include "hvkit/json.h"

namespace hvkit::filterd {

// Each submitted item ends in exactly one of passed, dropped, changed (the
// guest's verdict) or failed_open, failed_closed (a policy decided), and each
// policy decision has exactly one reason: timed_out, guest_absent or
// overflowed. So, once nothing is pending:
//   submitted = passed + dropped + changed + failed_open + failed_closed
//   timed_out + guest_absent + overflowed = failed_open + failed_closed
struct SourceCounters {
    uint64_t submitted = 0;
    uint64_t passed = 0;
    uint64_t dropped = 0;
    uint64_t changed = 0;
    uint64_t timed_out = 0;
    uint64_t guest_absent = 0;
    uint64_t overflowed = 0;
    uint64_t failed_open = 0;
    uint64_t failed_closed = 0;
    uint64_t late_or_unknown = 0;  // verdicts that answered nothing

    bool operator==(const SourceCounters&) const = default;
};

// {"submitted": n, "passed": n, ...}: every counter under its field name.
Json CountersJson(const SourceCounters& counters);

}  // namespace hvkit::filterd
