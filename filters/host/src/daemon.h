// The hvfilterd daemon (docs/filters.md, "The daemon"): every source of the
// configuration, the dispatcher, the ring link to the guest and one poll()
// loop over them. Single-threaded.
#pragma once

#include <poll.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "fanotify_source.h"
#include "hvkit/filterd/clock.h"
#include "hvkit/filterd/config.h"
#include "hvkit/filterd/dispatcher.h"
#include "hvkit/filterd/nfqueue_source.h"
#include "hvkit/filterd/nft_table.h"
#include "hvkit/fs.h"
#include "hvkit/json.h"
#include "hvkit/status.h"
#include "ring_guest_link.h"
#include "stats_socket.h"

namespace hvkit::filterd {

class Daemon {
  public:
    // Sets up what (config) names: the nft table and a queue per network
    // source, fanotify marks per file source, the stats socket at
    // (stats_socket) unless empty, and a signalfd for SIGTERM and SIGINT,
    // which the caller must already have blocked. Does not attach to the
    // VM yet: Run does, and retries. Errors name the source and the rule;
    // whatever was set up is taken down again.
    static Result<std::unique_ptr<Daemon>> Start(FilterConfig config,
                                                 const std::string& stats_socket);

    // Shutdown, if Run has not.
    ~Daemon();
    Daemon(const Daemon&) = delete;
    Daemon& operator=(const Daemon&) = delete;

    // The loop: attaches to the VM (retrying with backoff while it is absent;
    // meanwhile every item goes by on_guest_absent), answers items by the
    // guest's verdicts or by policy, serves the stats socket, and returns
    // after SIGTERM or SIGINT once everything pending is answered and the
    // table removed (Shutdown).
    Status Run();

    // Answers everything pending by on_guest_absent, sends the verdicts,
    // closes the sources and removes the nft table. Idempotent.
    void Shutdown();

    // The dispatcher's counters with each source's own and the link's:
    // what `hvfilterd stats` prints.
    Json StatsJson() const;

  private:
    explicit Daemon(FilterConfig config);

    Status SetUpSources();
    // Tries to attach when it is time; on failure schedules the next try.
    void MaybeAttach();
    // Notices a link that broke this turn and schedules a new attach.
    void NoticeDetach();
    // The poll timeout: the dispatcher's, the next attach try's, or 0.
    int PollTimeout(bool more_verdicts);
    // One turn of the loop after poll returned; false when a signal asks to stop.
    bool HandleReady(const std::vector<pollfd>& ready);

    FilterConfig config_;
    const Clock& clock_ = RealClock();
    RingGuestLink link_;
    Dispatcher dispatcher_;
    std::unique_ptr<NftTable> table_;
    std::vector<std::unique_ptr<NfqueueSource>> network_;  // by source index; null for file
    std::vector<std::unique_ptr<FanotifySource>> file_;    // by source index; null for network
    std::unique_ptr<StatsSocket> stats_;
    UniqueFd signals_;
    bool was_attached_ = false;
    TimePoint next_attach_{};
    std::chrono::milliseconds backoff_{0};
    std::string last_attach_error_;
    bool shut_down_ = false;
};

// Each NfqueueSource counter under its field name.
Json NfqueueStatsJson(const NfqueueStats& stats);

// (stats) as "dotted.key value" lines, one per number, string or bool, in
// key order: the text form of `hvfilterd stats`.
std::string StatsText(const Json& stats);

}  // namespace hvkit::filterd
