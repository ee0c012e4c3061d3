// How the fetcher reads a response head: which statuses are errors, and what a
// resumed download does with 200, 206 and 416 answers. Pure logic, no network.
#pragma once

#include <cstdint>

#include "http_transfer.h"
#include "hvkit/status.h"

namespace hvkit::net {

// The error for an answer that carries no usable body: kNotFound for 404, 403
// and 410 (so callers can tell "absent" from "failed"), kNetwork with the code
// for the rest. The message names the URL.
Status UnexpectedAnswer(const ResponseHead& head);

// What FetchToFile does with the answer to a request for the file whose first
// (have) bytes are on disk (sent with "Range: bytes=(have)-" when have > 0).
struct ResumePlan {
    enum class Action {
        kAppend,           // 206 from (have): append the body
        kRestart,          // 200, the server sent it all: truncate, then write the body
        kComplete,         // 416 and the server's size equals (have): nothing to fetch
        kDiscardAndRetry,  // 416 for a local prefix the server does not have:
                           // truncate and ask again without Range
        kFail,             // (error) says why
    };
    Action action = Action::kFail;
    int64_t total = -1;  // the whole file's size when known, else -1
    Status error;
};

ResumePlan PlanResume(const ResponseHead& head, int64_t have);

}  // namespace hvkit::net
