// The file source of hvfilterd: fanotify permission events on a source's
// paths become items for the dispatcher, and each item's single answer
// becomes the kernel's FAN_ALLOW or FAN_DENY (docs/filters.md, "File
// source"). Single-threaded and non-blocking: the event loop polls fd()
// and calls OnReadable; the dispatcher's replies answer the kernel.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>

#include "fanotify_responses.h"
#include "fanotify_stats.h"
#include "hvkit/filterd/config.h"
#include "hvkit/filterd/dispatcher.h"
#include "hvkit/json.h"
#include "hvkit/status.h"

namespace hvkit::filterd {

class FanotifySource {
  public:
    // Starts intercepting the accesses (config) names - a kind "file"
    // source - as source (index) of (dispatcher), which must outlive the
    // source's use and whose replies may run after the source is gone
    // (they then answer nothing). Needs CAP_SYS_ADMIN. Errors name the
    // source, the path and the rule: a path that cannot be marked, or
    // "exec" on a kernel without FAN_OPEN_EXEC_PERM (refused rather than
    // silently not intercepting what the configuration asks for).
    static Result<std::unique_ptr<FanotifySource>> Start(const SourceConfig& config,
                                                         SourceIndex index, Dispatcher& dispatcher);

    // Shutdown, if it has not run.
    ~FanotifySource();
    FanotifySource(const FanotifySource&) = delete;
    FanotifySource& operator=(const FanotifySource&) = delete;

    // The fanotify fd to poll for POLLIN; -1 after Shutdown.
    int fd() const { return responses_->fanotify_fd(); }

    // Handles the permission events the kernel has queued, at most a bounded
    // batch per call (poll is level-triggered: the rest wake it again), and
    // never blocks. Each event is answered at once (hvfilterd's own
    // process, unreadable content) or submitted to the dispatcher. A
    // non-OK status describes a failed read of the fanotify fd, already
    // counted in read_errors; the source stays usable.
    Status OnReadable();

    // Answers every event still outstanding by the source's on_guest_absent
    // policy, then closes the fanotify fd. Call Dispatcher::OnGuestGone
    // first so the dispatcher's counters record those answers; whatever is
    // left here is answered anyway, because the kernel would allow it on
    // close. Idempotent.
    void Shutdown();

    // Events read and not yet answered.
    size_t outstanding() const { return responses_->outstanding(); }
    const FanotifyStats& stats() const { return responses_->stats(); }
    // stats() with "outstanding" and "last_problem" (the last error seen).
    Json StatsJson() const;

  private:
    FanotifySource(const SourceConfig& config, SourceIndex index, Dispatcher& dispatcher,
                   std::shared_ptr<FanotifyResponses> responses);

    // Handles one event from the kernel: (mask), (event_fd), (pid).
    void HandleEvent(uint64_t mask, int event_fd, pid_t pid);

    std::string name_;
    SourceIndex index_;
    Dispatcher& dispatcher_;
    uint64_t max_content_bytes_;
    bool absent_allows_;  // on_guest_absent is fail-open
    pid_t own_pid_;
    std::string last_problem_;
    // Shared with every pending reply, so a reply that runs after the
    // source is gone finds its event already answered instead of freed memory.
    std::shared_ptr<FanotifyResponses> responses_;
};

}  // namespace hvkit::filterd
