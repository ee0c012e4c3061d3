// The world a fanotify source test runs in: a guest link that answers by a
// test rule (or never), an event-loop thread that drives the source and the
// dispatcher like hvfilterd's loop will, and child processes that access the
// watched files so the test process itself never waits on its own source.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "fanotify_source.h"
#include "hvkit/filterd/dispatcher.h"
#include "hvkit/filterd/guest_link.h"

namespace hvkit::filterd::testing {

// The test rule's signature: content that contains it is dropped.
inline constexpr char kSignature[] = "EICAR-HVKIT-TEST";
// Content that contains this is answered CHANGED (with it blanked out).
inline constexpr char kRewriteMarker[] = "HVKIT-REWRITE";

// A guest that is always attached. Answering: each item's verdict by the
// rule (signature -> DROP,
// rewrite marker -> CHANGED, else PASS), queued until the loop delivers it as
// a real ring's verdict would arrive. Silent: it never answers. Used only
// from the loop thread while it runs.
class RuleLink final : public GuestLink {
  public:
    explicit RuleLink(bool answers) : answers_(answers) {}
    bool Attached() const override { return true; }
    SendOutcome Send(const Item& item) override;

    // The verdicts decided since the last call.
    std::vector<std::pair<ItemId, Verdict>> TakeVerdicts() { return std::move(verdicts_); }
    // The payload size of every item sent, in order.
    const std::vector<size_t>& payload_sizes() const { return payload_sizes_; }

  private:
    bool answers_;
    std::vector<std::pair<ItemId, Verdict>> verdicts_;
    std::vector<size_t> payload_sizes_;
};

// Runs the event loop on its own thread until Stop: poll the source's fd
// and a wake-up eventfd with the dispatcher's timeout, OnReadable, deliver
// the link's verdicts, Tick. Nothing else may touch the source, the
// dispatcher or the link until Stop returns.
class LoopThread {
  public:
    LoopThread(FanotifySource& source, Dispatcher& dispatcher, RuleLink& link);
    ~LoopThread() { Stop(); }
    LoopThread(const LoopThread&) = delete;
    LoopThread& operator=(const LoopThread&) = delete;

    // Stops and joins the loop; idempotent.
    void Stop();
    // The source's outstanding events as of the loop's last turn.
    size_t outstanding() const { return outstanding_.load(); }
    // Non-OK statuses OnReadable returned, as text.
    const std::vector<std::string>& errors() const { return errors_; }

  private:
    void Run();

    FanotifySource& source_;
    Dispatcher& dispatcher_;
    RuleLink& link_;
    int wake_fd_;
    std::atomic<bool> stop_{false};
    std::atomic<size_t> outstanding_{0};
    std::vector<std::string> errors_;
    std::thread thread_;
};

// What a child process got from its access.
enum class AccessResult { kOk, kDenied, kOtherError, kTimedOut, kRan };

const char* AccessResultName(AccessResult r);

// Forks a child that opens (path) and reads it to the end: kOk, kDenied
// (EPERM) or kOtherError. Waits at most 10 s, then kills it: kTimedOut.
AccessResult OpenInChild(const std::string& path);

// Forks a child that execs (path): kRan when it exits 7 (the test scripts'
// code), kDenied on EPERM, else kOtherError; bounded as OpenInChild.
AccessResult ExecInChild(const std::string& path);

// Waits up to 10 s, polling, for (done) to turn true; returns whether it did.
template <typename Predicate>
bool WaitFor(Predicate done) {
    for (int i = 0; i < 1000; ++i) {
        if (done()) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return done();
}

}  // namespace hvkit::filterd::testing
