// The new hvmm on trial (takeover.h, steps 7 and 8): it runs the guest and
// waits for the guest's first hvchan call; healthy, it tells the predecessor
// (which commits the release); unhealthy, it hands the guest back.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "control/control.h"
#include "hvchan/hvchan.h"
#include "takeover/takeover.h"

namespace hvkit::hvmm {

namespace {

using std::chrono::milliseconds;

// How long the predecessor may take to commit, or to take the guest back.
constexpr milliseconds kAnswerWait{60000};
constexpr milliseconds kPoll{20};

std::shared_ptr<HvchanDevice> FindHvchan(Machine& machine) {
    return std::dynamic_pointer_cast<HvchanDevice>(machine.FindDevice("hvchan"));
}

}  // namespace

void OfferTrials(Machine& machine, Predecessor& takeover, milliseconds deadline) {
    auto hvchan = FindHvchan(machine);
    if (!hvchan || !hvchan->update_service()) return;
    std::weak_ptr<UpdateService> weak = hvchan->update_service();
    hvchan->update_service()->SetTrialStarter([&takeover, weak,
                                               deadline](const std::string& binary) {
        TrialOptions trial;
        trial.deadline = deadline;
        trial.on_pass = [weak]() -> Status {
            auto update = weak.lock();
            return update ? update->PassTrial() : Error(ErrorCode::kConflict, "no update service");
        };
        trial.on_fail = [weak](const std::string& why) {
            if (auto update = weak.lock()) update->FailTrial(why);
        };
        return takeover.Start(binary, std::move(trial));
    });
}

SuccessorTrial::SuccessorTrial(Machine& machine, HandoverHost& host, HandoverChannel& channel,
                               milliseconds deadline, int64_t predecessor_pid)
    : machine_(machine),
      host_(host),
      channel_(channel),
      deadline_(deadline),
      predecessor_pid_(predecessor_pid) {}

SuccessorTrial::~SuccessorTrial() {
    if (thread_.joinable()) thread_.join();
}

std::string SuccessorTrial::state() const {
    std::lock_guard lock(mu_);
    return state_;
}

void SuccessorTrial::SetState(std::string state) {
    std::lock_guard lock(mu_);
    state_ = std::move(state);
}

void SuccessorTrial::Start() {
    if (auto hvchan = FindHvchan(machine_); hvchan && hvchan->update_service()) {
        hvchan->update_service()->SuccessorOnTrial(HvmmVersion());
    }
    thread_ = StartHostThread([this] { Run(); });
}

bool SuccessorTrial::GuestAnswers(std::string& why) {
    if (const char* forced = getenv(kTrialVerdictVariable); forced != nullptr) {
        why = std::string(kTrialVerdictVariable) + "=" + forced;
        return strcmp(forced, "healthy") == 0;
    }
    auto hvchan = FindHvchan(machine_);
    if (!hvchan) {
        why = "the machine has no hvchan device to answer on";
        return false;
    }
    uint64_t before = hvchan->sequence();
    auto until = std::chrono::steady_clock::now() + deadline_;
    while (std::chrono::steady_clock::now() < until) {
        if (hvchan->sequence() != before) return true;
        if (machine_.control().stop_requested()) {
            why = "the machine stopped during the trial";
            return false;
        }
        usleep(std::chrono::duration_cast<std::chrono::microseconds>(kPoll).count());
    }
    why = "the guest made no hvchan call within " + std::to_string(deadline_.count()) +
          " ms of the takeover";
    return false;
}

void SuccessorTrial::Run() {
    TakeoverCrashPoint("new-on-trial");
    std::string why;
    if (!GuestAnswers(why)) {
        if (machine_.control().stop_requested()) return SetState("ended");
        return HandBack(why);
    }
    Json healthy = Json::MakeObject();
    healthy["type"] = Json("healthy");
    if (Status st = channel_.Send(healthy); !st.ok()) {
        SetState("unconfirmed");
        if (auto hvchan = FindHvchan(machine_); hvchan && hvchan->update_service()) {
            hvchan->update_service()->SuccessorTrialOrphaned();
        }
        fprintf(stderr,
                "hvmm: the predecessor is gone before the trial's verdict (%s); "
                "this hvmm runs the guest on, its release uncommitted\n",
                st.message().c_str());
        return;
    }
    auto answer = channel_.Receive(kAnswerWait);
    const Json* error = answer.ok() ? answer->body.Find("error") : nullptr;
    if (!answer.ok() || answer->type() != "trial-passed" || error != nullptr) {
        SetState("unconfirmed");
        if (auto hvchan = FindHvchan(machine_); hvchan && hvchan->update_service()) {
            hvchan->update_service()->SuccessorTrialOrphaned();
        }
        fprintf(stderr,
                "hvmm: the trial passed but the predecessor did not commit the release: %s\n",
                !answer.ok()                             ? answer.status().message().c_str()
                : error != nullptr && error->is_string() ? error->as_string().c_str()
                                                         : answer->type().c_str());
        return;
    }
    if (auto hvchan = FindHvchan(machine_); hvchan && hvchan->update_service()) {
        hvchan->update_service()->SuccessorTrialPassed();
    }
    SetState("passed");
    fprintf(stderr, "hvmm: passed the trial\n");
}

void SuccessorTrial::HandBack(const std::string& why) {
    fprintf(stderr, "hvmm: failed the trial (%s); handing the guest back to pid %lld\n",
            why.c_str(), static_cast<long long>(predecessor_pid_));
    std::vector<std::pair<std::string, UniqueFd>> control_fds;
    Json control;
    bool was_paused = machine_.paused();
    Status st = host_.Release(control_fds, control);
    if (st.ok()) st = machine_.Pause();
    Result<Json> state = Error(ErrorCode::kConflict, "not saved");
    if (st.ok()) {
        machine_.Quiesce();  // paused: see DeviceState::Quiesce
        state = machine_.SaveState();
        st = state.status();
    }
    if (st.ok()) {
        Json message = Json::MakeObject();
        message["type"] = Json("unhealthy");
        message["error"] = Json(why);
        message["machine"] = std::move(*state);
        message["control"] = std::move(control);
        std::vector<SharedFd> shared;
        for (const auto& [name, fd] : control_fds) shared.push_back({name, fd.get()});
        st = SendNamedFds(channel_, std::move(message), shared);
    }
    if (st.ok()) {
        auto answer = ReceiveExpected(channel_, "resumed", kAnswerWait);
        if (answer.ok()) {
            SetState("handed-back");
            machine_.StopHandedOver("handed back to pid " + std::to_string(predecessor_pid_) +
                                    " after a failed trial: " + why);
            return;
        }
        st = answer.status();
        if (!channel_.peer_closed() && st.code() != ErrorCode::kRefused) {
            // Alive but silent: it may run the guest now. Never both.
            machine_.StopFailed("handing the guest back to pid " +
                                std::to_string(predecessor_pid_) +
                                " got no answer: " + st.message());
            return;
        }
    }
    // The predecessor did not take it (gone, or it could not restore): the
    // guest stays here, never in neither.
    fprintf(stderr, "hvmm: the guest stays here: handing it back failed: %s\n",
            st.message().c_str());
    SetState("kept");
    host_.Reclaim(std::move(control_fds));
    machine_.Unquiesce();
    if (!was_paused) machine_.Resume();
}

}  // namespace hvkit::hvmm
