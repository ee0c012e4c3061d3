// Live takeover between real hvmm processes on the local /dev/kvm: `hvmm run
// --real-mode counter.bin` (a guest that prints 'A' once, then a dot every
// few thousand counts) handed over by `hvmm control PATH takeover`. A guest
// that kept running prints more dots; one that was restarted prints a
// second 'A'. Each fault case names the step it cuts (HVMM_TEST_TAKEOVER_CRASH)
// and which process must run the guest after it: exactly one, or (a
// predecessor killed before it sent the state) none, the successor leaving
// without running it. Skipped without /dev/kvm.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "control/control.h"
#include "hvkit/json.h"
#include "takeover/takeover.h"
#include "temp_dir.h"

extern char** environ;

namespace hvkit::hvmm {
namespace {

using testing::TempDir;

const std::string kHvmm = HVMM_BINARY;
const std::string kHvmmNext = HVMM_NEXT_BINARY;
const std::string kCounter = std::string(HVKIT_PAYLOAD_DIR) + "/counter.bin";

int64_t NowMs() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return int64_t{ts.tv_sec} * 1000 + ts.tv_nsec / 1000000;
}

template <typename Pred>
bool Eventually(Pred pred, int64_t ms = 60000) {
    int64_t deadline = NowMs() + ms;
    while (NowMs() < deadline) {
        if (pred()) return true;
        usleep(20000);
    }
    return pred();
}

pid_t Spawn(const std::vector<std::string>& argv, const std::vector<std::string>& extra_env = {}) {
    std::vector<std::string> env;
    for (char** e = environ; *e != nullptr; ++e) env.emplace_back(*e);
    env.insert(env.end(), extra_env.begin(), extra_env.end());
    std::vector<char*> a, e;
    for (const auto& s : argv) a.push_back(const_cast<char*>(s.c_str()));
    for (const auto& s : env) e.push_back(const_cast<char*>(s.c_str()));
    a.push_back(nullptr);
    e.push_back(nullptr);
    pid_t pid = -1;
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    int err = posix_spawn(&pid, argv[0].c_str(), &actions, nullptr, a.data(), e.data());
    posix_spawn_file_actions_destroy(&actions);
    return err == 0 ? pid : -1;
}

int Wait(pid_t pid) {
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

bool Alive(pid_t pid) {
    return kill(pid, 0) == 0;
}

class TakeoverTest : public ::testing::Test {
  protected:
    void SetUp() override {
        if (access("/dev/kvm", R_OK | W_OK) != 0) GTEST_SKIP() << "no usable /dev/kvm";
    }
    void TearDown() override {
        // Whoever runs the guest now: shut it down, then reap our child.
        (void)SendControlRequest(socket_, ControlRequestFor("shutdown"), 5000);
        for (pid_t pid : StrayPids()) kill(pid, SIGKILL);
        if (first_ > 0 && Alive(first_)) kill(first_, SIGKILL);
        if (first_ > 0) waitpid(first_, nullptr, WNOHANG);
    }

    // `hvmm run` on the counter payload, with (env) added; waits for dots.
    void StartGuest(const std::vector<std::string>& env = {}) {
        first_ = Spawn({kHvmm, "run", "--real-mode", kCounter, "--mem", "64M", "--control", socket_,
                        "--serial-log", log_, "--serial-input", "none"},
                       env);
        ASSERT_GT(first_, 0);
        ASSERT_TRUE(Eventually([&] { return Dots() >= 3; })) << Log();
    }

    std::string Log() const {
        std::error_code ec;
        if (!std::filesystem::exists(log_, ec)) return "";
        return testing::ReadTestFile(log_);
    }
    size_t Dots() const {
        std::string log = Log();
        return static_cast<size_t>(std::count(log.begin(), log.end(), '.'));
    }
    size_t Starts() const {
        std::string log = Log();
        return static_cast<size_t>(std::count(log.begin(), log.end(), 'A'));
    }
    // True when the guest prints (more) dots than now within the deadline.
    bool Progresses() const {
        size_t now = Dots();
        return Eventually([&] { return Dots() > now + 2; }, 30000);
    }

    Json Status() const {
        auto response = SendControlRequest(socket_, ControlRequestFor("status"), 30000);
        if (!response.ok()) return Json();
        auto parsed = ParseJson(*response, "status");
        return parsed.ok() ? *parsed : Json();
    }
    int64_t ServingPid() const {
        Json s = Status();
        const Json* pid = s.is_object() ? s.Find("pid") : nullptr;
        return pid != nullptr && pid->is_int() ? pid->as_int() : -1;
    }
    std::vector<pid_t> StrayPids() const {
        std::vector<pid_t> out;
        int64_t pid = ServingPid();
        if (pid > 0 && pid != first_) out.push_back(static_cast<pid_t>(pid));
        return out;
    }

    // `hvmm control SOCKET takeover [--binary B] [--trial MS]`'s exit status.
    int Takeover(const std::string& binary = "", int64_t trial_ms = 0) {
        std::vector<std::string> argv = {kHvmm, "control", socket_, "takeover"};
        if (!binary.empty()) argv.insert(argv.end(), {"--binary", binary});
        if (trial_ms > 0) argv.insert(argv.end(), {"--trial", std::to_string(trial_ms)});
        pid_t pid = Spawn(argv);
        return pid > 0 ? Wait(pid) : -1;
    }

    TempDir dir_;
    std::string socket_ = dir_.Sub("vm.sock");
    std::string log_ = dir_.Sub("serial.log");
    pid_t first_ = -1;
};

TEST_F(TakeoverTest, TheSuccessorRunsTheSameGuestOnAndThePredecessorExits5) {
    StartGuest();
    usleep(1200000);  // so the VM's uptime is at least a second before the takeover
    ASSERT_EQ(Takeover(kHvmmNext), 0);
    EXPECT_EQ(Wait(first_), 5);  // handed over
    Json s = Status();
    ASSERT_TRUE(s.is_object());
    EXPECT_NE(s.Find("pid")->as_int(), first_);
    EXPECT_EQ(s.Find("version")->as_string(), "0.1.1");
    const Json* took_over = s.Find("took_over");
    ASSERT_NE(took_over, nullptr);
    EXPECT_EQ(took_over->Find("from_pid")->as_int(), first_);
    EXPECT_EQ(took_over->Find("from_version")->as_string(), "0.1.0");
    EXPECT_GE(s.Find("uptime_s")->as_int(), 1) << "the VM's uptime restarted with the successor";
    // The blackout is the sum of its steps, each named, from the
    // predecessor's pause to the successor's vCPUs starting.
    ASSERT_TRUE(Eventually(
        [&] {
            Json now = Status();
            const Json* t = now.is_object() ? now.Find("took_over") : nullptr;
            return t != nullptr && t->Find("steps_us") != nullptr;
        },
        5000));
    took_over = (s = Status()).Find("took_over");
    const Json* blackout = took_over->Find("blackout_us");
    ASSERT_NE(blackout, nullptr);
    int64_t sum = 0;
    std::vector<std::string> steps;
    for (const auto& [step, us] : took_over->Find("steps_us")->as_object()) {
        steps.push_back(step);
        sum += us.as_int();
    }
    std::sort(steps.begin(), steps.end());
    EXPECT_EQ(steps, (std::vector<std::string>{"commit", "message", "pause", "quiesce", "restore",
                                               "save", "send", "start", "unquiesce"}));
    EXPECT_LE(sum, blackout->as_int());
    EXPECT_GE(sum, blackout->as_int() - 8) << "each step rounds down by less than a microsecond";
    EXPECT_TRUE(Progresses()) << "the guest stopped after the takeover";
    EXPECT_EQ(Starts(), 1u) << "the guest started again instead of going on: " << Log();
}

TEST_F(TakeoverTest, TenTakeoversInARowKeepTheGuestAndTheFdCount) {
    StartGuest();
    size_t fds_after_first = 0;
    for (int i = 0; i < 10; ++i) {
        ASSERT_EQ(Takeover(i % 2 == 0 ? kHvmmNext : kHvmm), 0) << "takeover " << i;
        int64_t pid = ServingPid();
        ASSERT_GT(pid, 0);
        // A control client that just left may still be open for a moment
        // (ServingPid's own): a leaked fd never goes away.
        auto count = [&] {
            size_t fds = 0;
            for ([[maybe_unused]] auto& e :
                 std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd")) {
                ++fds;
            }
            return fds;
        };
        if (i == 0) {
            usleep(200000);
            fds_after_first = count();
        }
        EXPECT_TRUE(Eventually([&] { return count() == fds_after_first; }, 5000))
            << "takeover " << i << " has " << count() << " fds, the first had " << fds_after_first;
    }
    EXPECT_TRUE(Progresses());
    EXPECT_EQ(Starts(), 1u) << Log();
}

TEST_F(TakeoverTest, ASuccessorThatIsNotHvmmLeavesTheGuestWhereItRuns) {
    StartGuest();
    EXPECT_EQ(Takeover("/bin/true"), 1);
    Json s = Status();
    ASSERT_TRUE(s.is_object());
    EXPECT_EQ(s.Find("pid")->as_int(), first_);
    const Json* takeover = s.Find("takeover");
    ASSERT_NE(takeover, nullptr);
    EXPECT_EQ(takeover->Find("state")->as_string(), "fell-back");
    EXPECT_EQ(s.Find("state")->as_string(), "running");
    EXPECT_TRUE(Progresses());
    EXPECT_TRUE(Alive(first_));
}

TEST_F(TakeoverTest, APausedGuestStaysPausedAcrossATakeover) {
    StartGuest();
    ASSERT_TRUE(SendControlRequest(socket_, ControlRequestFor("pause")).ok());
    ASSERT_EQ(Takeover(), 0);
    EXPECT_EQ(Status().Find("state")->as_string(), "paused");
    size_t dots = Dots();
    usleep(300000);
    EXPECT_EQ(Dots(), dots);
    ASSERT_TRUE(SendControlRequest(socket_, ControlRequestFor("resume")).ok());
    EXPECT_TRUE(Progresses());
}

TEST_F(TakeoverTest, AFailedTakeoverLeavesAnOperatorsPauseAlone) {
    StartGuest();
    ASSERT_TRUE(SendControlRequest(socket_, ControlRequestFor("pause")).ok());
    EXPECT_EQ(Takeover("/bin/true"), 1);
    EXPECT_EQ(Status().Find("state")->as_string(), "paused");
    size_t dots = Dots();
    usleep(300000);
    EXPECT_EQ(Dots(), dots) << "the failed takeover resumed a guest the operator paused";
    ASSERT_TRUE(SendControlRequest(socket_, ControlRequestFor("resume")).ok());
    EXPECT_TRUE(Progresses());
}

// A successor killed before the commit: the predecessor resumes the guest.
class SuccessorDies : public TakeoverTest, public ::testing::WithParamInterface<const char*> {};

TEST_P(SuccessorDies, ThePredecessorRunsTheGuestOn) {
    StartGuest({std::string("HVMM_TEST_TAKEOVER_CRASH=") + GetParam()});
    EXPECT_EQ(Takeover(), 1);
    EXPECT_EQ(ServingPid(), first_);
    EXPECT_TRUE(Progresses());
    EXPECT_EQ(Starts(), 1u) << Log();
}

INSTANTIATE_TEST_SUITE_P(Steps, SuccessorDies, ::testing::Values("new-ready", "new-restored"));

// A predecessor killed once the state is sent: the successor runs the guest.
class PredecessorDiesAfterTheState : public TakeoverTest,
                                     public ::testing::WithParamInterface<const char*> {};

TEST_P(PredecessorDiesAfterTheState, TheSuccessorRunsTheGuest) {
    StartGuest({std::string("HVMM_TEST_TAKEOVER_CRASH=") + GetParam()});
    (void)Takeover();  // its answer may come from either side of the cut
    EXPECT_EQ(Wait(first_), 128 + SIGKILL);
    ASSERT_TRUE(Eventually([&] {
        int64_t pid = ServingPid();
        return pid > 0 && pid != first_;
    })) << "nobody runs the guest";
    EXPECT_TRUE(Progresses());
    EXPECT_EQ(Starts(), 1u) << Log();
}

INSTANTIATE_TEST_SUITE_P(Steps, PredecessorDiesAfterTheState,
                         ::testing::Values("old-state-sent", "old-committed"));

// A predecessor killed before it sent the state takes the guest with it, as
// any VMM's death does; the successor must then leave without running it.
TEST_F(TakeoverTest, APredecessorKilledBeforeTheStateLeavesNoGuestRunningTwice) {
    StartGuest({"HVMM_TEST_TAKEOVER_CRASH=old-paused"});
    (void)Takeover();
    EXPECT_EQ(Wait(first_), 128 + SIGKILL);
    size_t dots = Dots();
    usleep(500000);
    EXPECT_EQ(Dots(), dots) << "a guest still runs somewhere";
    EXPECT_EQ(ServingPid(), -1);
}

// On trial (docs/live-takeover.md, "The trial"): the successor must see the
// guest answer on hvchan, or hand the guest back. The counter guest makes no
// hvchan calls; HVMM_TEST_TRIAL_VERDICT=healthy stands in for one.
std::string TrialVerdict(const char* verdict) {
    return std::string(kTrialVerdictVariable) + "=" + verdict;
}

std::string TrialState(const Json& status) {
    const Json* took_over = status.is_object() ? status.Find("took_over") : nullptr;
    const Json* trial =
        took_over != nullptr && took_over->is_object() ? took_over->Find("trial") : nullptr;
    return trial != nullptr && trial->is_string() ? trial->as_string() : "";
}

TEST_F(TakeoverTest, ATrialThatPassesHandsTheGuestOver) {
    StartGuest({TrialVerdict("healthy")});
    ASSERT_EQ(Takeover(kHvmmNext, 5000), 0);
    EXPECT_EQ(Wait(first_), 5);
    Json s = Status();
    EXPECT_EQ(TrialState(s), "passed");
    EXPECT_EQ(s.Find("version")->as_string(), "0.1.1");
    EXPECT_TRUE(Progresses());
    EXPECT_EQ(Starts(), 1u) << Log();
}

TEST_F(TakeoverTest, AGuestThatNeverAnswersIsHandedBackAndRunsOnHere) {
    StartGuest();
    EXPECT_EQ(Takeover(kHvmmNext, 300), 1) << "a failed trial is a failed takeover";
    EXPECT_TRUE(Alive(first_));
    EXPECT_EQ(ServingPid(), first_) << "the predecessor serves the control socket again";
    Json s = Status();
    const Json* takeover = s.Find("takeover");
    ASSERT_NE(takeover, nullptr);
    EXPECT_EQ(takeover->Find("state")->as_string(), "fell-back");
    std::string error = takeover->Find("error")->as_string();
    EXPECT_NE(error.find("trial"), std::string::npos) << error;
    EXPECT_NE(error.find("no hvchan"), std::string::npos) << error;
    EXPECT_TRUE(Progresses()) << "the guest handed back does not run";
    EXPECT_EQ(Starts(), 1u) << Log();
    // Handed back whole: it can change hands again.
    ASSERT_EQ(Takeover(kHvmmNext), 0);
    EXPECT_EQ(Wait(first_), 5);
    EXPECT_TRUE(Progresses());
    EXPECT_EQ(Starts(), 1u) << Log();
}

TEST_F(TakeoverTest, ASuccessorThatDiesOnTrialTakesTheGuestAndStopsThePredecessorWithAnError) {
    StartGuest({TrialVerdict("healthy"), "HVMM_TEST_TAKEOVER_CRASH=new-on-trial"});
    (void)Takeover(kHvmmNext, 5000);
    EXPECT_EQ(Wait(first_), 1) << "the guest is lost: the predecessor must say so";
    EXPECT_EQ(ServingPid(), -1);
    size_t dots = Dots();
    usleep(300000);
    EXPECT_EQ(Dots(), dots) << "a guest still runs somewhere";
}

TEST_F(TakeoverTest, APredecessorGoneBeforeTheVerdictLeavesTheGuestUnconfirmedInTheSuccessor) {
    StartGuest({TrialVerdict("healthy"), "HVMM_TEST_TAKEOVER_CRASH=old-committed"});
    (void)Takeover(kHvmmNext, 5000);
    EXPECT_EQ(Wait(first_), 128 + SIGKILL);
    ASSERT_TRUE(Eventually([&] { return TrialState(Status()) == "unconfirmed"; }))
        << DumpJson(Status(), 0);
    EXPECT_TRUE(Progresses());
    EXPECT_EQ(Starts(), 1u) << Log();
}

}  // namespace
}  // namespace hvkit::hvmm
