// Live takeover: one hvmm hands its running guest to another
// (docs/live-takeover.md). The map of takeover/:
//
//   channel.cc      the handover socket: JSON messages with fds (SCM_RIGHTS)
//   spawn.cc        starting the successor binary with its end of the socket
//   predecessor.cc  the old process's steps: offer, pause, save, commit or
//                   fall back
//   successor.cc    the new process's steps: adopt, restore, take over
//   trial.cc        a takeover on trial: the new process waits for the
//                   guest to answer, reports the verdict, or hands it back
//
// The steps, and who owns the guest after each:
//   1. old: spawn the successor, send "offer" (the `hvmm run` options and
//      guest RAM, device memory, disk, TAP, eventfds, serial log).
//   2. new: build the same machine over those fds (KVM VM, vCPUs, mapped
//      RAM, devices quiesced) and answer "ready". The guest ran all along.
//   3. old: pause the vCPUs, quiesce the devices, stop serving the control
//      socket, save the state; send "state" with the control socket's
//      listener and clients.
//   4. new: restore; answer "restored".
//   5. old: send "commit".
//   6. new: on "commit", or the predecessor's end of the socket closing
//      after step 3 (it died; it can never resume the guest), resume; send
//      "running". The old process (not on trial) then stops ("handed
//      over") and exits 5; only then (or 10 s after the commit), as its
//      teardown (unmapping guest RAM, ending its KVM VM) would compete with
//      the resume.
// Before step 5 any failure, refusal or deadline makes the old process
// SIGKILL the successor, reap it, and only then resume the guest, so the
// guest never runs in both and, once the state is sent, never in neither.
//
// On trial (the offer says "trial"; a committed release's hvmm is always on
// trial), step 6 does not end the old process:
//   7. new: after resuming, waits for the guest to make an hvchan call
//      within the trial's deadline; sends "healthy", or pauses, saves and
//      sends "unhealthy" with the state and the control socket's fds.
//   8. old: on "healthy", passes the trial (the release store commits),
//      answers "trial-passed" and exits 5. On "unhealthy", restores the
//      state into its own machine (paused since step 3), resumes the guest
//      and answers "resumed"; the new process then exits 5. The trial
//      failed, and the store drops the release. If the old process cannot
//      restore, it answers "refused" and the new one resumes the guest.
// The old process's end closing before "resumed" (it died) makes the new
// one resume the guest; the new one's closing before a verdict (it died
// with the guest) fails the trial and stops the old one with an error:
// the one case the guest is lost, as with any hvmm that crashes.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "hvkit/fs.h"
#include "hvkit/json.h"
#include "hvkit/status.h"
#include "hvmm.h"

namespace hvkit::hvmm {

// The handover protocol's version: a successor refuses an offer of another.
inline constexpr int64_t kHandoverProtocol = 1;

// HVMM_TEST_TAKEOVER_CRASH=STEP (system tests only): the process at STEP
// kills itself with SIGKILL, so tests can cut a takeover anywhere. The old
// side's steps: old-spawned, old-offered, old-paused, old-state-sent,
// old-committed, old-passed (a trial's verdict answered); the new side's:
// new-ready, new-restored, new-acknowledged, new-resumed, new-on-trial.
inline constexpr const char* kTakeoverCrashVariable = "HVMM_TEST_TAKEOVER_CRASH";
void TakeoverCrashPoint(std::string_view step);

// ============================================================================
// channel.cc — the handover socket
// ============================================================================

// One message: a JSON object with a "type", and the fds sent with it.
struct HandoverMessage {
    Json body;
    std::vector<UniqueFd> fds;
    std::string type() const;
};

// A connected Unix stream socket carrying HandoverMessages, each a 12-byte
// header (magic, body length, fd count) sent with its fds, then the JSON
// body. At most kMaxFds fds and kMaxBody bytes per message.
class HandoverChannel {
  public:
    static constexpr size_t kMaxFds = 64;
    static constexpr size_t kMaxBody = 64u << 20;
    explicit HandoverChannel(UniqueFd socket) : fd_(std::move(socket)) {}
    // Sends (body) with (fds) (borrowed). kIo when the peer is gone.
    Status Send(const Json& body, const std::vector<int>& fds = {});
    // The next message, waiting at most (timeout). kNetwork when the peer
    // closed its end (then peer_closed()) or the deadline passed;
    // kMalformed for a broken frame.
    Result<HandoverMessage> Receive(std::chrono::milliseconds timeout);
    // True once Receive() found the peer's end closed before a message, or
    // Send() found it closed.
    bool peer_closed() const { return peer_closed_; }
    int fd() const { return fd_.get(); }

  private:
    UniqueFd fd_;
    bool peer_closed_ = false;
};

// Sends (body) with (fds), their names listed in body["fds"] in order (the
// receiver pairs them up again).
Status SendNamedFds(HandoverChannel& channel, Json body, const std::vector<SharedFd>& fds);
// (message)'s fds under the names its "fds" member lists, in order
// (kMalformed when they do not pair up).
Result<HandoverFds> TakeNamedFds(HandoverMessage& message);
// Sends {"type":"refused","error":(why)}.
void SendRefusal(HandoverChannel& channel, const Status& why);
// Receives a message of type (want) within (timeout); a "refused" answer
// becomes kRefused with the peer's reason, another type kMalformed.
Result<HandoverMessage> ReceiveExpected(HandoverChannel& channel, std::string_view want,
                                        std::chrono::milliseconds timeout);

// ============================================================================
// spawn.cc — the successor process
// ============================================================================

struct SuccessorProcess {
    pid_t pid = -1;
    UniqueFd socket;  // our end of the handover socket
};

// Starts `(binary) successor --handover-fd 3` with the other end of a new
// socketpair as fd 3, an empty signal mask and our stdin, stdout and
// stderr. The binary is checked to be an executable regular file first.
Result<SuccessorProcess> SpawnSuccessor(const std::string& binary);
// SIGKILLs (pid) and reaps it.
void KillSuccessor(pid_t pid);
// Reaps (pid), which is ending by itself; SIGKILLs it after (grace).
void ReapSuccessor(pid_t pid, std::chrono::milliseconds grace);

// ============================================================================
// predecessor.cc — the old process
// ============================================================================

// What the predecessor hands over besides the machine, and gets back when
// the takeover fails: main.cc's control server and serial input.
class HandoverHost {
  public:
    virtual ~HandoverHost() = default;
    // Stops serving the control socket and reading serial input; the
    // socket's listener and open clients, as named fds ("control.listener",
    // "control.client.N"), and the socket file's identity (JSON) go to the
    // successor. Called with the vCPUs paused.
    virtual Status Release(std::vector<std::pair<std::string, UniqueFd>>& fds, Json& control) = 0;
    // The takeover failed after Release(): serve again with the same
    // listener and clients (the fds Release() gave), read input again.
    virtual void Reclaim(std::vector<std::pair<std::string, UniqueFd>> fds) = 0;
};

// The last takeover's outcome, for `status`.
struct TakeoverReport {
    std::string state;  // "" none, "in-progress", "fell-back"
    std::string binary;
    std::string error;  // why it fell back
};

struct TakeoverDeadlines {
    // From spawn to "ready": process start, KVM VM, vCPUs, mapping.
    std::chrono::milliseconds ready{120000};
    // From "state" to "restored".
    std::chrono::milliseconds restored{60000};
    // On trial, beyond the trial's own deadline, for the verdict to arrive
    // (an unhealthy successor pauses and saves first).
    std::chrono::milliseconds verdict_margin{60000};
    // After the commit, for "running" before the old machine is torn down.
    std::chrono::milliseconds running{10000};
};

// A takeover on trial (steps 7 and 8 above).
struct TrialOptions {
    // How long the successor waits for the guest's first hvchan call.
    std::chrono::milliseconds deadline{30000};
    // The verdict, in the predecessor: on_pass before it exits (an error is
    // sent to the successor, which logs it); on_fail with why.
    std::function<Status()> on_pass;
    std::function<void(const std::string& why)> on_fail;
};

// The old side. One takeover at a time, on its own thread.
class Predecessor {
  public:
    // (run_args): the `hvmm run` words the successor parses into the same
    // configuration; (serial_log): the serial log fd to hand over, or -1.
    Predecessor(Machine& machine, HandoverHost& host, std::vector<std::string> run_args,
                int serial_log, TakeoverDeadlines deadlines = {});
    ~Predecessor();
    // Checks that a takeover can start (none running, every device can hand
    // over) and starts one by (binary) on its own thread, on (trial) if
    // given. Its outcome shows in Report(); on success the machine stops as
    // kHandedOver.
    Status Start(const std::string& binary, std::optional<TrialOptions> trial = std::nullopt);
    TakeoverReport Report() const;

  private:
    using NamedFdList = std::vector<std::pair<std::string, UniqueFd>>;
    void Run(std::string binary, std::optional<TrialOptions> trial);
    // Steps 1-5; an error means: fall back. (channel) outlives it, so the
    // successor is killed before its end of the socket closes (a successor
    // holding the state takes a closed socket for a dead predecessor).
    Status HandOver(const std::string& binary, const std::optional<TrialOptions>& trial,
                    pid_t& successor, std::unique_ptr<HandoverChannel>& channel, bool& released,
                    NamedFdList& control_fds);
    // Step 8: the trial's verdict, and what follows from it.
    void AwaitVerdict(const TrialOptions& trial, pid_t successor, HandoverChannel& channel);
    // Restores the state an unhealthy successor sent back and runs the
    // guest here again, serving the control socket it sent.
    Status TakeBack(HandoverMessage& verdict);
    void SetReport(std::string state, std::string error = "");

    Machine& machine_;
    HandoverHost& host_;
    std::vector<std::string> run_args_;
    int serial_log_;
    TakeoverDeadlines deadlines_;
    bool was_paused_ = false;  // by an operator, before the takeover paused it
    bool we_paused_ = false;   // this takeover paused the vCPUs: its fallback resumes them
    mutable std::mutex mu_;
    TakeoverReport report_;
    std::thread thread_;
};

// ============================================================================
// successor.cc — the new process
// ============================================================================

// `hvmm successor --handover-fd N`: takes the guest over from the hvmm at
// the other end of fd N and runs it as `hvmm run` would. Returns hvmm run's
// exit status.
int RunSuccessor(int handover_fd);

// ============================================================================
// trial.cc — the new process on trial
// ============================================================================

// The test hook HVMM_TEST_TRIAL_VERDICT=healthy|unhealthy decides a trial at
// once, for tests whose guest makes no hvchan calls.
inline constexpr const char* kTrialVerdictVariable = "HVMM_TEST_TRIAL_VERDICT";

// Puts every release the guest commits over hvchan on trial through
// (takeover): sets the machine's update service's trial starter (none
// without update permission). (deadline): the trial's.
void OfferTrials(Machine& machine, Predecessor& takeover,
                 std::chrono::milliseconds deadline = TrialOptions{}.deadline);

// Steps 7 and the new side of 8, on its own thread: started once the
// successor resumed the guest and serves the host (HandoverHost).
class SuccessorTrial {
  public:
    SuccessorTrial(Machine& machine, HandoverHost& host, HandoverChannel& channel,
                   std::chrono::milliseconds deadline, int64_t predecessor_pid);
    ~SuccessorTrial();
    void Start();
    // "on-trial", "passed", "handed-back", "kept" (the guest stays here
    // after a failed trial: the predecessor could not take it back),
    // "unconfirmed" (the predecessor left before it answered "healthy": the
    // guest runs here, its release uncommitted) or "ended" (the machine
    // stopped during the trial).
    std::string state() const;

  private:
    void SetState(std::string state);
    void Run();
    // Whether the guest made an hvchan call within the deadline; (why)
    // says what was missing when not.
    bool GuestAnswers(std::string& why);
    void HandBack(const std::string& why);

    Machine& machine_;
    HandoverHost& host_;
    HandoverChannel& channel_;
    std::chrono::milliseconds deadline_;
    int64_t predecessor_pid_;
    mutable std::mutex mu_;
    std::string state_ = "on-trial";
    std::thread thread_;
};

}  // namespace hvkit::hvmm
