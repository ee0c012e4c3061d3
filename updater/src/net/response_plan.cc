#include "response_plan.h"

#include "hvkit/net/byte_range.h"

namespace hvkit::net {

Status UnexpectedAnswer(const ResponseHead& head) {
    std::string answer = std::to_string(head.status);
    if (!head.reason.empty()) answer += " " + head.reason;
    std::string message = "cannot download " + head.url + ": the server answered " + answer;
    if (head.status == 404 || head.status == 403 || head.status == 410) {
        return Error(ErrorCode::kNotFound, message);
    }
    return Error(ErrorCode::kNetwork, message);
}

ResumePlan PlanResume(const ResponseHead& head, int64_t have) {
    ResumePlan plan;
    auto fail = [&](Status st) {
        plan.action = ResumePlan::Action::kFail;
        plan.error = std::move(st);
        return plan;
    };
    auto malformed = [&](const std::string& why) {
        return fail(Error(ErrorCode::kMalformed, "cannot resume " + head.url + ": " + why));
    };

    if (head.status == 200) {
        plan.action = ResumePlan::Action::kRestart;
        plan.total = head.content_length;
        return plan;
    }
    if (head.status == 206) {
        if (have <= 0) return malformed("a partial answer (206) to a request without Range");
        if (!head.content_range) return malformed("a partial answer (206) without Content-Range");
        auto range = ParseContentRange(*head.content_range);
        if (!range.ok()) return malformed(range.status().message());
        if (!range->range || range->range->first != have) {
            return malformed("asked for the bytes from " + std::to_string(have) +
                             ", the server sent Content-Range '" + *head.content_range + "'");
        }
        if (head.content_length >= 0 && head.content_length != range->range->length()) {
            return malformed("Content-Length " + std::to_string(head.content_length) +
                             " does not match Content-Range '" + *head.content_range + "'");
        }
        plan.action = ResumePlan::Action::kAppend;
        plan.total = range->size;
        return plan;
    }
    if (head.status == 416 && have > 0) {
        // The server has no byte at offset (have). If its size is exactly
        // (have), the previous run already fetched everything.
        if (head.content_range) {
            auto range = ParseContentRange(*head.content_range);
            if (range.ok() && !range->range && range->size == have) {
                plan.action = ResumePlan::Action::kComplete;
                plan.total = have;
                return plan;
            }
        }
        plan.action = ResumePlan::Action::kDiscardAndRetry;
        return plan;
    }
    return fail(UnexpectedAnswer(head));
}

}  // namespace hvkit::net
