// The old hvmm's side of a live takeover (takeover.h has the steps).
#include <signal.h>
#include <unistd.h>

#include <cstdlib>

#include "control/control.h"
#include "takeover/takeover.h"

namespace hvkit::hvmm {

void TakeoverCrashPoint(std::string_view step) {
    const char* want = getenv(kTakeoverCrashVariable);
    if (want != nullptr && step == want) raise(SIGKILL);
}

Predecessor::Predecessor(Machine& machine, HandoverHost& host, std::vector<std::string> run_args,
                         int serial_log, TakeoverDeadlines deadlines)
    : machine_(machine),
      host_(host),
      run_args_(std::move(run_args)),
      serial_log_(serial_log),
      deadlines_(deadlines) {}

Predecessor::~Predecessor() {
    if (thread_.joinable()) thread_.join();
}

Status Predecessor::Start(const std::string& binary, std::optional<TrialOptions> trial) {
    std::lock_guard lock(mu_);
    if (report_.state == "in-progress") {
        return Error(ErrorCode::kConflict,
                     "takeover: one is in progress (by " + report_.binary + ")");
    }
    if (machine_.control().stop_requested()) {
        return Error(ErrorCode::kConflict, "takeover: the VM is stopping");
    }
    HVKIT_RETURN_IF_ERROR(machine_.CanHandOver().WithContext("takeover"));
    if (thread_.joinable()) thread_.join();  // the last one's, finished
    report_ = TakeoverReport{.state = "in-progress", .binary = binary, .error = ""};
    thread_ = StartHostThread([this, binary, trial] { Run(binary, trial); });
    return Status::Ok();
}

TakeoverReport Predecessor::Report() const {
    std::lock_guard lock(mu_);
    return report_;
}

void Predecessor::SetReport(std::string state, std::string error) {
    std::lock_guard lock(mu_);
    report_.state = std::move(state);
    report_.error = std::move(error);
}

void Predecessor::Run(std::string binary, std::optional<TrialOptions> trial) {
    we_paused_ = false;
    pid_t successor = -1;
    std::unique_ptr<HandoverChannel> channel;
    bool released = false;
    NamedFdList control_fds;
    Status st = HandOver(binary, trial, successor, channel, released, control_fds);
    if (st.ok()) {
        if (trial) return AwaitVerdict(*trial, successor, *channel);
        // Torn down once the guest runs there (or a while after the commit,
        // from a successor that does not say): unmapping guest RAM and
        // ending the KVM VM would compete with its resume.
        (void)ReceiveExpected(*channel, "running", deadlines_.running);
        SetReport("handed-over");
        fprintf(stderr, "hvmm: handed the guest over to pid %d (%s)\n", static_cast<int>(successor),
                binary.c_str());
        machine_.StopHandedOver("handed over to pid " + std::to_string(successor));
        return;
    }
    // Fall back: the successor must be gone before the guest runs here
    // again, so it can never run it too; and before our end of the socket
    // closes, or it would take that for our death and run the guest.
    KillSuccessor(successor);
    channel.reset();
    if (released) host_.Reclaim(std::move(control_fds));
    machine_.Unquiesce();
    // Only a pause of its own: an operator's (before the takeover, or while
    // it prepared) stays.
    if (we_paused_) machine_.Resume();
    fprintf(stderr, "hvmm: takeover by %s failed; the guest runs on here: %s\n", binary.c_str(),
            st.message().c_str());
    SetReport("fell-back", st.message());
    if (trial) trial->on_fail(st.message());
}

Status Predecessor::HandOver(const std::string& binary, const std::optional<TrialOptions>& trial,
                             pid_t& successor, std::unique_ptr<HandoverChannel>& channel_owner,
                             bool& released, NamedFdList& control_fds) {
    // 1. The successor, and what it needs to build the machine.
    HVKIT_ASSIGN_OR_RETURN(SuccessorProcess process, SpawnSuccessor(binary));
    successor = process.pid;
    channel_owner = std::make_unique<HandoverChannel>(std::move(process.socket));
    HandoverChannel& channel = *channel_owner;
    TakeoverCrashPoint("old-spawned");
    Json offer = Json::MakeObject();
    offer["type"] = Json("offer");
    offer["protocol"] = Json(kHandoverProtocol);
    offer["version"] = Json(HvmmVersion());
    offer["pid"] = Json(static_cast<int64_t>(getpid()));
    Json args = Json::MakeArray();
    for (const auto& a : run_args_) args.Push(Json(a));
    offer["run_args"] = std::move(args);
    if (trial) {
        Json t = Json::MakeObject();
        t["deadline_ms"] = Json(static_cast<int64_t>(trial->deadline.count()));
        offer["trial"] = std::move(t);
    }
    std::vector<SharedFd> shared = machine_.SharedFds();
    if (serial_log_ >= 0) shared.push_back({"serial.log", serial_log_});
    HVKIT_RETURN_IF_ERROR(
        SendNamedFds(channel, std::move(offer), shared).WithContext("takeover: offer"));
    TakeoverCrashPoint("old-offered");

    // 2. It built the same machine, while the guest ran on.
    auto ready = ReceiveExpected(channel, "ready", deadlines_.ready);
    if (!ready.ok()) return ready.status().WithContext("takeover: ready");
    const Json* on_trial = ready->body.Find("trial");
    if (trial && (on_trial == nullptr || !on_trial->is_bool() || !on_trial->as_bool())) {
        return Error(ErrorCode::kRefused,
                     "takeover: the successor does not run a trial (it never reports the guest's "
                     "health); a committed release must");
    }

    // 3. Stop serving the host (so no client resumes the guest meanwhile),
    // pause, quiesce, save.
    Json control;
    HVKIT_RETURN_IF_ERROR(host_.Release(control_fds, control).WithContext("takeover: release"));
    released = true;
    int64_t paused_at = MonotonicNs();
    was_paused_ = machine_.paused();  // an operator's pause carries over
    HVKIT_RETURN_IF_ERROR(machine_.Pause().WithContext("takeover: pause"));
    we_paused_ = !was_paused_;
    Json steps = Json::MakeObject();  // when each step of the blackout ended (successor.cc)
    steps["pause"] = Json(MonotonicNs());
    machine_.Quiesce();  // paused: see DeviceState::Quiesce
    steps["quiesce"] = Json(MonotonicNs());
    TakeoverCrashPoint("old-paused");
    HVKIT_ASSIGN_OR_RETURN(Json state, machine_.SaveState());
    steps["save"] = Json(MonotonicNs());
    Json message = Json::MakeObject();
    message["type"] = Json("state");
    message["machine"] = std::move(state);
    message["control"] = std::move(control);
    message["paused_at_ns"] = Json(paused_at);
    message["paused"] = Json(was_paused_);
    steps["message"] = Json(MonotonicNs());
    message["steps_ns"] = std::move(steps);
    std::vector<SharedFd> control_shared;
    for (const auto& [name, fd] : control_fds) control_shared.push_back({name, fd.get()});
    HVKIT_RETURN_IF_ERROR(
        SendNamedFds(channel, std::move(message), control_shared).WithContext("takeover: state"));
    TakeoverCrashPoint("old-state-sent");

    // 4. It restored the state.
    HVKIT_RETURN_IF_ERROR(ReceiveExpected(channel, "restored", deadlines_.restored)
                              .status()
                              .WithContext("takeover: restore"));

    // 5. The commit point: once "commit" is sent this process never runs
    // the guest again. A send that fails means the successor is dead and
    // never saw it.
    Json commit = Json::MakeObject();
    commit["type"] = Json("commit");
    HVKIT_RETURN_IF_ERROR(channel.Send(commit).WithContext("takeover: commit"));
    TakeoverCrashPoint("old-committed");
    return Status::Ok();
}

void Predecessor::AwaitVerdict(const TrialOptions& trial, pid_t successor,
                               HandoverChannel& channel) {
    SetReport("on-trial");
    std::string pid = std::to_string(successor);
    auto verdict = channel.Receive(trial.deadline + deadlines_.verdict_margin);
    if (verdict.ok() && verdict->type() == "running") {  // the resume (successor.cc)
        verdict = channel.Receive(trial.deadline + deadlines_.verdict_margin);
    }
    std::string type = verdict.ok() ? verdict->type() : "";
    if (type == "healthy") {
        Status passed = trial.on_pass();
        Json reply = Json::MakeObject();
        reply["type"] = Json("trial-passed");
        if (!passed.ok()) reply["error"] = Json(passed.message());
        (void)channel.Send(reply);
        TakeoverCrashPoint("old-passed");
        SetReport("handed-over", passed.ok() ? "" : passed.message());
        fprintf(stderr, "hvmm: handed the guest over to pid %s; it passed its trial\n",
                pid.c_str());
        machine_.StopHandedOver("handed over to pid " + pid + " after its trial");
        return;
    }
    if (type == "unhealthy") {
        const Json* error = verdict->body.Find("error");
        std::string why = error != nullptr && error->is_string() ? error->as_string() : "unhealthy";
        Status back = TakeBack(*verdict);
        if (back.ok()) {
            Json resumed = Json::MakeObject();
            resumed["type"] = Json("resumed");
            (void)channel.Send(resumed);
            ReapSuccessor(successor, std::chrono::seconds(10));
            fprintf(stderr, "hvmm: pid %s failed its trial (%s); the guest runs here again\n",
                    pid.c_str(), why.c_str());
            SetReport("fell-back", "trial: " + why);
            trial.on_fail(why);
            return;
        }
        // It keeps the guest it still holds; this process never ran it again.
        SendRefusal(channel, back);
        why += "; taking the guest back failed (" + back.message() + "), it runs on in pid " + pid;
        SetReport("handed-over", "trial: " + why);
        trial.on_fail(why);
        machine_.StopHandedOver("handed over to pid " + pid + "; its trial failed: " + why);
        return;
    }
    std::string why =
        channel.peer_closed()
            ? "the successor (pid " + pid + ") ended after resuming the guest; the guest is lost"
            : "no verdict from the successor (pid " + pid +
                  "): " + (verdict.ok() ? "it sent \"" + type + "\"" : verdict.status().message()) +
                  "; it keeps the guest";
    SetReport(channel.peer_closed() ? "failed" : "handed-over", "trial: " + why);
    trial.on_fail(why);
    if (channel.peer_closed()) {
        KillSuccessor(successor);  // reaps it
        machine_.StopFailed("takeover: " + why);
    } else {
        machine_.StopHandedOver("handed over to pid " + pid + "; " + why);
    }
}

Status Predecessor::TakeBack(HandoverMessage& verdict) {
    const Json* state = verdict.body.Find("machine");
    if (state == nullptr) return Error(ErrorCode::kMalformed, "\"unhealthy\" lacks \"machine\"");
    HVKIT_ASSIGN_OR_RETURN(HandoverFds fds, TakeNamedFds(verdict));
    NamedFdList control;
    if (auto listener = fds.Take("control.listener"); listener.ok()) {
        control.emplace_back("control.listener", std::move(*listener));
    }
    for (size_t i = 0;; ++i) {
        std::string name = "control.client." + std::to_string(i);
        auto client = fds.Take(name);
        if (!client.ok()) break;
        control.emplace_back(name, std::move(*client));
    }
    HVKIT_RETURN_IF_ERROR(
        machine_.RestoreState(*state).WithContext("restoring the state sent back"));
    host_.Reclaim(std::move(control));
    machine_.Unquiesce();
    if (we_paused_) machine_.Resume();
    return Status::Ok();
}

}  // namespace hvkit::hvmm
