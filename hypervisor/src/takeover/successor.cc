// The new hvmm's side of a live takeover (takeover.h has the steps):
// `hvmm successor --handover-fd N`.
#include <fcntl.h>
#include <unistd.h>

#include <cstdio>

#include "host_side.h"
#include "takeover/takeover.h"

namespace hvkit::hvmm {

namespace {

using std::chrono::milliseconds;

// The predecessor offers at once; the state and the commit follow its own
// deadlines, which are shorter than these.
constexpr milliseconds kOfferWait{30000};
constexpr milliseconds kStateWait{600000};

int Fail(const Status& st) {
    fprintf(stderr, "hvmm successor: %s\n", st.message().c_str());
    return exit_status::kFailure;
}

// The blackout and its steps, for status's took_over: when each step
// ended, from the predecessor's "state" (its "steps_ns") and this process's
// marks, the last ("start") every vCPU running. One clock (MonotonicNs).
class BlackoutSteps {
  public:
    void Begin(const HandoverMessage& state) {
        std::lock_guard lock(mu_);
        const Json* paused_at = state.body.Find("paused_at_ns");
        if (paused_at != nullptr && paused_at->is_int()) paused_at_ = paused_at->as_int();
        const Json* steps = state.body.Find("steps_ns");
        for (const char* step : {"pause", "quiesce", "save", "message"}) {
            const Json* at = steps != nullptr ? steps->Find(step) : nullptr;
            if (at != nullptr && at->is_int()) ends_.emplace_back(step, at->as_int());
        }
    }
    void Mark(const char* step) {
        std::lock_guard lock(mu_);  // status may ask meanwhile
        ends_.emplace_back(step, MonotonicNs());
    }
    // (from) with "blackout_us" and "steps_us" (each step's length, "send"
    // from the predecessor's send to this process's parse) once "start" is
    // marked; nothing added before.
    Json Report(Json from) const {
        std::lock_guard lock(mu_);
        if (paused_at_ == 0 || ends_.empty() || ends_.back().first != "start") return from;
        from["blackout_us"] = Json((ends_.back().second - paused_at_) / 1000);
        Json steps = Json::MakeObject();
        int64_t last = paused_at_;
        for (const auto& [step, at] : ends_) {
            steps[step] = Json((at - last) / 1000);
            last = at;
        }
        from["steps_us"] = std::move(steps);
        return from;
    }

  private:
    mutable std::mutex mu_;
    int64_t paused_at_ = 0;
    std::vector<std::pair<std::string, int64_t>> ends_;  // in order
};

// Steps 2 and 4: the machine over the offer's fds, then its state.
struct Adopted {
    std::vector<std::string> run_args;
    RunOptions options;
    UniqueFd serial_log;
    std::unique_ptr<Machine> machine;
};

Result<Adopted> AdoptOffer(HandoverMessage& offer) {
    const Json* protocol = offer.body.Find("protocol");
    if (protocol == nullptr || !protocol->is_int() || protocol->as_int() != kHandoverProtocol) {
        return Error(ErrorCode::kRefused,
                     "the predecessor speaks another handover protocol (this hvmm speaks " +
                         std::to_string(kHandoverProtocol) + ")");
    }
    const Json* args = offer.body.Find("run_args");
    if (args == nullptr || !args->is_array()) {
        return Error(ErrorCode::kMalformed, "handover offer lacks \"run_args\"");
    }
    std::vector<std::string> words;
    for (const Json& a : args->as_array()) {
        if (!a.is_string()) return Error(ErrorCode::kMalformed, "handover run_args are not text");
        words.push_back(a.as_string());
    }
    Adopted adopted;
    HVKIT_ASSIGN_OR_RETURN(adopted.options, ParseRunOptions(words));
    adopted.run_args = words;
    HVKIT_ASSIGN_OR_RETURN(HandoverFds fds, TakeNamedFds(offer));
    MachineConfig& config = adopted.options.config;
    if (config.devices.serial.log_path) {
        HVKIT_ASSIGN_OR_RETURN(adopted.serial_log, fds.Take("serial.log"));
    }
    int serial_fd = adopted.serial_log.valid() ? adopted.serial_log.get() : STDOUT_FILENO;
    config.serial_sink = [serial_fd](std::span<const uint8_t> bytes) {
        WriteAll(serial_fd, bytes);
    };
    HVKIT_ASSIGN_OR_RETURN(adopted.machine, AdoptMachine(config, fds));
    return adopted;
}

// Steps 4 to 6, on the main thread with the vCPU threads parked: the state
// restored and acknowledged; the commit, or the predecessor gone after it
// sent the state (it can never run the guest again, so this process must);
// the guest running here, the host served. An error before the commit
// means the guest never ran here.
Status TakeOver(HandoverChannel& channel, Machine& machine, BlackoutSteps& steps, HostSide& host,
                std::unique_ptr<MachineControlTarget> target) {
    auto state = ReceiveExpected(channel, "state", kStateWait);
    if (!state.ok()) {
        return state.status().WithContext(
            "the predecessor did not hand over the state; the guest never ran here");
    }
    steps.Begin(*state);
    steps.Mark("send");
    const Json* machine_state = state->body.Find("machine");
    const Json* paused = state->body.Find("paused");
    const Json* control = state->body.Find("control");
    Status restored = machine_state == nullptr
                          ? Error(ErrorCode::kMalformed, "handover state lacks \"machine\"")
                          : machine.RestoreState(*machine_state);
    auto control_fds = TakeNamedFds(*state);
    if (restored.ok() && !control_fds.ok()) restored = control_fds.status();
    std::optional<ControlSocket> socket;
    std::vector<UniqueFd> clients;
    if (restored.ok() && control != nullptr && !control->is_null()) {
        auto listener = control_fds->Take("control.listener");
        auto made = listener.ok() ? ControlSocketFromHandover(*control, std::move(*listener))
                                  : Result<ControlSocket>(listener.status());
        if (made.ok()) {
            socket = std::move(*made);
        } else {
            restored = made.status();
        }
        const Json* started = control->Find("started_ns");  // the VM's uptime goes on
        if (started != nullptr && started->is_int()) target->CountUptimeFrom(started->as_int());
    }
    for (size_t i = 0; restored.ok(); ++i) {
        auto client = control_fds->Take("control.client." + std::to_string(i));
        if (!client.ok()) break;
        clients.push_back(std::move(*client));
    }
    if (!restored.ok()) {
        SendRefusal(channel, restored);
        return restored.WithContext("restoring the predecessor's state; the guest never ran here");
    }
    steps.Mark("restore");
    TakeoverCrashPoint("new-restored");
    Json ack = Json::MakeObject();
    ack["type"] = Json("restored");
    // A predecessor gone once it sent the state can never run the guest
    // again: then this process must, acknowledged or not.
    if (Status st = channel.Send(ack); !st.ok() && !channel.peer_closed()) return st;
    TakeoverCrashPoint("new-acknowledged");

    // 6. "commit", or the predecessor gone after sending the state: either
    // way it never runs the guest again, so this process must.
    if (!channel.peer_closed()) {
        auto commit = channel.Receive(kStateWait);
        if (!commit.ok() && !channel.peer_closed()) {
            return commit.status().WithContext("waiting for the commit; the guest never ran here");
        }
        if (commit.ok() && commit->type() != "commit") {
            return Error(ErrorCode::kMalformed, "expected \"commit\", got \"" + commit->type() +
                                                    "\"; the guest never ran here");
        }
    }
    steps.Mark("commit");
    machine.Unquiesce();
    steps.Mark("unquiesce");
    bool operator_paused = paused != nullptr && paused->is_bool() && paused->as_bool();
    if (!operator_paused) {  // an operator's pause stays
        machine.Resume();
        (void)machine.WaitRunning();
    }
    steps.Mark("start");
    // The predecessor tears its machine down only now: its unmapping of
    // guest RAM and its KVM VM's end would compete with the resume.
    Json running = Json::MakeObject();
    running["type"] = Json("running");
    (void)channel.Send(running);
    return host.StartAdopted(std::move(socket), std::move(clients), std::move(target))
        .WithContext("serving the host after the takeover");
}

}  // namespace

int RunSuccessor(int handover_fd) {
    fcntl(handover_fd, F_SETFD, FD_CLOEXEC);
    HandoverChannel channel{UniqueFd(handover_fd)};

    // 2. Build the same machine over the predecessor's fds.
    auto offer = ReceiveExpected(channel, "offer", kOfferWait);
    if (!offer.ok()) return Fail(offer.status().WithContext("waiting for the offer"));
    const Json* from_pid = offer->body.Find("pid");
    const Json* from_version = offer->body.Find("version");
    auto adopted = AdoptOffer(*offer);
    if (!adopted.ok()) {
        SendRefusal(channel, adopted.status());
        return Fail(adopted.status());
    }
    Machine& machine = *adopted->machine;
    Json ready = Json::MakeObject();
    ready["type"] = Json("ready");
    ready["pid"] = Json(static_cast<int64_t>(getpid()));
    ready["version"] = Json(HvmmVersion());
    ready["trial"] = Json(true);  // this hvmm reports the guest's health (trial.cc)
    std::optional<milliseconds> trial_deadline;
    if (const Json* trial = offer->body.Find("trial"); trial != nullptr && trial->is_object()) {
        const Json* ms = trial->Find("deadline_ms");
        trial_deadline = milliseconds(ms != nullptr && ms->is_int() ? ms->as_int() : 30000);
    }

    // The host side, ready to serve once the guest runs here.
    Json from = Json::MakeObject();
    if (from_pid != nullptr) from["from_pid"] = *from_pid;
    if (from_version != nullptr) from["from_version"] = *from_version;
    auto steps = std::make_shared<BlackoutSteps>();
    // Before the host side: its control target asks the trial for its state.
    std::optional<SuccessorTrial> trial;
    HostSide host(machine, adopted->options.config.devices.serial.read_stdin);
    // This hvmm can hand the guest on in turn.
    Predecessor next(machine, host, adopted->run_args,
                     adopted->serial_log.valid() ? adopted->serial_log.get() : -1);
    if (adopted->options.config.devices.hvchan.takeover_on_commit) OfferTrials(machine, next);
    auto target = std::make_unique<MachineControlTarget>(machine, HvmmVersion(), &next);
    target->ReportTookOver([from, steps] { return steps->Report(from); });
    if (trial_deadline) {
        int64_t pid = from_pid != nullptr && from_pid->is_int() ? from_pid->as_int() : -1;
        trial.emplace(machine, host, channel, *trial_deadline, pid);
        target->ReportTrial([&trial] { return trial ? trial->state() : "ended"; });
    }

    // The vCPU threads start before "ready", parked (Run() on a paused
    // machine), while the guest still runs in the predecessor: the commit
    // only opens the gate. The rest runs on this thread once they exist.
    (void)machine.Pause();
    auto take_over = [&] {
        Status st = channel.Send(ready);
        TakeoverCrashPoint("new-ready");
        if (st.ok()) st = TakeOver(channel, machine, *steps, host, std::move(target));
        if (!st.ok()) {
            machine.StopFailed(st.message());
            return;
        }
        if (trial) trial->Start();
        fprintf(
            stderr, "hvmm: took the guest over from pid %s (hvmm %s)\n",
            from_pid != nullptr && from_pid->is_int() ? std::to_string(from_pid->as_int()).c_str()
                                                      : "?",
            from_version != nullptr && from_version->is_string() ? from_version->as_string().c_str()
                                                                 : "?");
        TakeoverCrashPoint("new-resumed");
    };
    int status = RunUntilStopped(machine, host, take_over);
    trial.reset();  // its thread uses the host side: joined while that exists
    return status;
}

}  // namespace hvkit::hvmm
