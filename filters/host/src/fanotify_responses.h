// The permission events hvfilterd has read and not yet answered, and the
// only way to answer them: each is answered - a fanotify_response written
// and its event fd closed - exactly once, whoever asks and however often.
#pragma once

#include <cstddef>
#include <cstdint>
#include <unordered_map>

#include "fanotify_stats.h"
#include "hvkit/fs.h"

namespace hvkit::filterd {

// Answers are keyed by a token that is never reused, not by the event fd:
// once an event fd is closed the kernel hands its number to the next event,
// and a late reply for the old event must not answer the new one.
class FanotifyResponses {
  public:
    // Owns (fanotify_fd), the group's notification fd.
    explicit FanotifyResponses(UniqueFd fanotify_fd) : fanotify_fd_(std::move(fanotify_fd)) {}
    ~FanotifyResponses();
    FanotifyResponses(const FanotifyResponses&) = delete;
    FanotifyResponses& operator=(const FanotifyResponses&) = delete;

    // The notification fd; -1 once Close has run.
    int fanotify_fd() const { return fanotify_fd_.get(); }

    // Takes ownership of the event's (event_fd) until it is answered and
    // returns the token that answers it.
    uint64_t Hold(int event_fd);

    // Answers the event held under (token): FAN_ALLOW when (allow), else
    // FAN_DENY, then closes its fd. Returns false, changing nothing, when
    // the token is not held (answered before, or answered by Close).
    bool Answer(uint64_t token, bool allow);

    // Answers an event that was never held, and closes (event_fd).
    void AnswerNow(int event_fd, bool allow);

    // Answers every held event by (allow), counting each in
    // answered_at_shutdown, then closes the notification fd. The kernel
    // would answer FAN_ALLOW for anything still unanswered when the fd
    // closes, which is fail-open; so nothing is left for it. Idempotent.
    void Close(bool allow);

    size_t outstanding() const { return held_.size(); }
    FanotifyStats& stats() { return stats_; }
    const FanotifyStats& stats() const { return stats_; }

  private:
    // Writes the response for (event_fd) and closes it.
    void Respond(int event_fd, bool allow);

    UniqueFd fanotify_fd_;
    std::unordered_map<uint64_t, int> held_;  // token -> event fd
    uint64_t next_token_ = 0;
    FanotifyStats stats_;
};

}  // namespace hvkit::filterd
