// Writing fanotify responses, exactly once per event.
#include "fanotify_responses.h"

#include <sys/fanotify.h>
#include <unistd.h>

#include <cerrno>

namespace hvkit::filterd {

FanotifyResponses::~FanotifyResponses() {
    // The owner calls Close with its policy; this only keeps the promise
    // that nothing is left for the kernel to allow if it did not.
    Close(false);
}

uint64_t FanotifyResponses::Hold(int event_fd) {
    uint64_t token = ++next_token_;
    held_.emplace(token, event_fd);
    return token;
}

bool FanotifyResponses::Answer(uint64_t token, bool allow) {
    auto it = held_.find(token);
    if (it == held_.end()) return false;
    int event_fd = it->second;
    held_.erase(it);
    Respond(event_fd, allow);
    return true;
}

void FanotifyResponses::AnswerNow(int event_fd, bool allow) {
    Respond(event_fd, allow);
}

void FanotifyResponses::Close(bool allow) {
    std::unordered_map<uint64_t, int> held;
    held.swap(held_);
    for (const auto& [token, event_fd] : held) {
        ++stats_.answered_at_shutdown;
        Respond(event_fd, allow);
    }
    fanotify_fd_ = UniqueFd();
}

void FanotifyResponses::Respond(int event_fd, bool allow) {
    struct fanotify_response response = {};
    response.fd = event_fd;
    response.response = allow ? FAN_ALLOW : FAN_DENY;
    ++(allow ? stats_.allowed : stats_.denied);
    ssize_t n = -1;
    if (fanotify_fd_.valid()) {
        do {
            n = write(fanotify_fd_.get(), &response, sizeof(response));
        } while (n < 0 && errno == EINTR);
    }
    // A refused response leaves the event to the kernel, which allows it
    // when the notification fd closes; count it so it is seen.
    if (n != static_cast<ssize_t>(sizeof(response))) ++stats_.response_errors;
    close(event_fd);
}

}  // namespace hvkit::filterd
