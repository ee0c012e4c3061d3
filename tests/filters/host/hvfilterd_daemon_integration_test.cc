// The hvfilterd binary end to end on this machine, with real netfilter and
// no VM: each test gets a network namespace, a fake hvmm control socket
// that hands out a region memfd and eventfds, and the real guest filter
// runtime (what `hvagent filters` runs in a VM) in a child process over that
// region, loading the chains hvfilterd announces (pcap_rule.so, redact.so,
// and the test module unruly.so) in its forked chain worker.
// Waits are bounded; assertions are on what arrives and on the counters
// `hvfilterd stats` prints, never on timing.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "fake_hvmm_control.h"
#include "guest_runtime_process.h"
#include "hvfilterd_nfqueue_netns.h"
#include "hvkit/filter_chain.h"
#include "hvkit/filterd/config.h"
#include "hvkit/filterd/nft_table.h"
#include "hvkit/fs.h"
#include "hvkit/json.h"
#include "hvkit/loaded_module.h"
#include "stats_socket.h"

namespace hvkit::filterd {
namespace {

using testing::FakeHvmmControl;
using testing::GuestRuntimeProcess;
using testing::UdpSocket;

constexpr uint64_t kRegionSize = 0x86000;

// Runs hvfilterd with (args), capturing stdout and stderr into (output);
// -> its exit code, or -1 if it had to be killed after 30 s.
int RunTool(const std::vector<std::string>& args, std::string* output) {
    int pipe_fds[2];
    if (pipe(pipe_fds) != 0) return -1;
    pid_t pid = fork();
    if (pid == 0) {
        dup2(pipe_fds[1], 1);
        dup2(pipe_fds[1], 2);
        close(pipe_fds[0]);
        std::vector<char*> argv{const_cast<char*>(HVFILTERD_PATH)};
        for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
        argv.push_back(nullptr);
        execv(HVFILTERD_PATH, argv.data());
        _exit(127);
    }
    close(pipe_fds[1]);
    std::thread reader([&] {
        char buf[4096];
        ssize_t n;
        while ((n = read(pipe_fds[0], buf, sizeof(buf))) > 0) output->append(buf, n);
    });
    int status = 0;
    auto until = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (waitpid(pid, &status, WNOHANG) == 0) {
        if (std::chrono::steady_clock::now() > until) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            reader.join();
            close(pipe_fds[0]);
            return -1;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    reader.join();
    close(pipe_fds[0]);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::string ConfigText(const std::string& control_socket) {
    const std::string chain_tail =
        R"({"module": "redact", "params": {"pattern": "secret", "replacement_byte": "*"}})";
    return R"({"vm": {"control_socket": ")" + control_socket + R"("},
 "sources": [
  {"name": "closed", "kind": "network",
   "network": {"queue": 7, "rules": ["udp dport 9000-9999"]},
   "chain": [{"module": "pcap_rule", "params": {"filter": "udp dst port 9999", "action": "drop"}},
             )" +
           chain_tail + R"(],
   "deadline_ms": 300, "on_timeout": "fail-closed", "on_guest_absent": "fail-closed",
   "on_overflow": "fail-closed"},
  {"name": "open", "kind": "network",
   "network": {"queue": 8, "rules": ["udp dport 8000"]},
   "chain": [{"module": "unruly", "params": {"mode": "crash"}},
             )" +
           chain_tail + R"(],
   "deadline_ms": 300, "on_timeout": "fail-open", "on_guest_absent": "fail-open",
   "on_overflow": "fail-open"}]}
)";
}

class DaemonIntegration : public ::testing::Test {
  protected:
    void SetUp() override {
        std::string why = testing::NetfilterUnavailable();
        if (!why.empty()) GTEST_SKIP() << why;
        ASSERT_EQ(testing::EnterFreshNetns(), "");
        Result<std::string> dir = MakeTempDirectory("/tmp", "hvfilterd-e2e-");
        ASSERT_TRUE(dir.ok());
        dir_ = *dir;
        config_path_ = dir_ + "/hvfilterd.json";
        stats_path_ = dir_ + "/stats.sock";
        ASSERT_TRUE(WriteFileAtomic(config_path_, ConfigText(dir_ + "/vm.sock")).ok());
        Result<FilterConfig> config = LoadFilterConfig(config_path_);
        ASSERT_TRUE(config.ok()) << config.status().message();
    }

    void TearDown() override {
        if (daemon_ > 0) {
            kill(daemon_, SIGKILL);
            waitpid(daemon_, nullptr, 0);
        }
        guest_.reset();
        hvmm_.reset();
        if (!dir_.empty()) (void)RemoveTree(dir_);
    }

    void StartHvmmAndGuest() {
        hvmm_ = std::make_unique<FakeHvmmControl>(dir_ + "/vm.sock", kRegionSize);
        ASSERT_TRUE(hvmm_->ok());
        StartGuest();
    }

    void StartGuest() {
        guest_ = std::make_unique<GuestRuntimeProcess>(
            hvmm_->region_fd(), kRegionSize, hvmm_->doorbell_fd(), hvmm_->interrupt_fd(),
            std::vector<std::string>{FILTER_MODULES_DIR, FAKE_MODULES_DIR},
            dir_ + "/guest-status.json");
    }

    // The VM, the guest runtime, the receivers and the daemon, attached.
    void StartAllAttached() {
        ASSERT_NO_FATAL_FAILURE(StartHvmmAndGuest());
        ASSERT_NO_FATAL_FAILURE(OpenReceivers());
        ASSERT_NO_FATAL_FAILURE(StartDaemon());
        ASSERT_TRUE(WaitFor([&] { return Attached(); })) << Log();
        ASSERT_TRUE(GuestAttaches(1)) << Log();
    }

    // Waits until the guest runtime attached (n) times in all.
    bool GuestAttaches(int64_t n) {
        return WaitFor([&] { return guest_->Counter("attaches") >= n; });
    }

    void StartDaemon() {
        daemon_ = fork();
        if (daemon_ == 0) {
            std::string log = dir_ + "/hvfilterd.log";
            freopen(log.c_str(), "w", stderr);
            execl(HVFILTERD_PATH, HVFILTERD_PATH, "run", "--config", config_path_.c_str(),
                  "--stats-socket", stats_path_.c_str(), nullptr);
            _exit(127);
        }
        ASSERT_GT(daemon_, 0);
    }

    // The daemon's stats document, or null when it cannot be fetched yet.
    Json Stats() {
        Result<std::string> text = FetchStats(stats_path_);
        if (!text.ok()) return Json();
        Result<Json> parsed = ParseJson(*text, "stats");
        return parsed.ok() ? *parsed : Json();
    }

    int64_t Counter(const Json& stats, const std::string& source, const std::string& name) {
        const Json* sources = stats.is_object() ? stats.Find("sources") : nullptr;
        const Json* s = sources ? sources->Find(source) : nullptr;
        const Json* c = s ? s->Find(name) : nullptr;
        return c && c->is_int() ? c->as_int() : -1;
    }

    // Polls (done) every 10 ms for up to 10 s, draining the receivers.
    bool WaitFor(const std::function<bool()>& done) {
        auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
        while (std::chrono::steady_clock::now() < until) {
            for (auto& [port, socket] : receivers_) socket->Drain(received_[port]);
            if (done()) return true;
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        return false;
    }

    bool Attached() {
        Json s = Stats();
        const Json* guest = s.is_object() ? s.Find("guest") : nullptr;
        const Json* attached = guest ? guest->Find("attached") : nullptr;
        return attached && attached->is_bool() && attached->as_bool();
    }

    void OpenReceivers() {
        for (uint16_t port : {9999, 9001, 8000}) {
            receivers_[port] = std::make_unique<UdpSocket>(AF_INET, port);
            ASSERT_TRUE(receivers_[port]->ok());
        }
        sender_ = std::make_unique<UdpSocket>(AF_INET, 0);
        ASSERT_TRUE(sender_->ok());
    }

    std::string Log() {
        std::ifstream in(dir_ + "/hvfilterd.log");
        return std::string(std::istreambuf_iterator<char>(in), {});
    }

    std::string dir_, config_path_, stats_path_;
    std::unique_ptr<FakeHvmmControl> hvmm_;
    std::unique_ptr<GuestRuntimeProcess> guest_;
    pid_t daemon_ = -1;
    std::map<uint16_t, std::unique_ptr<UdpSocket>> receivers_;
    std::map<uint16_t, std::vector<std::string>> received_;
    std::unique_ptr<UdpSocket> sender_;
};

TEST_F(DaemonIntegration, GuestChainsDecideThenPoliciesWhenTheGuestFallsSilent) {
    ASSERT_NO_FATAL_FAILURE(StartAllAttached());

    // The guest answers: pcap_rule drops port 9999, redact rewrites "secret".
    ASSERT_EQ(sender_->SendTo(9999, "to the dropped port"), 0);
    ASSERT_EQ(sender_->SendTo(9001, "hello"), 0);
    ASSERT_EQ(sender_->SendTo(9001, "my secret value"), 0);
    ASSERT_EQ(sender_->SendTo(8000, "plain"), 0);
    ASSERT_TRUE(WaitFor([&] {
        Json s = Stats();
        return received_[9001].size() == 2 && received_[8000].size() == 1 &&
               Counter(s, "closed", "dropped") == 1;
    })) << Log();
    EXPECT_EQ(received_[9001][0], "hello");
    EXPECT_EQ(received_[9001][1], "my ****** value");
    EXPECT_EQ(received_[8000][0], "plain");
    EXPECT_TRUE(received_[9999].empty());
    Json s = Stats();
    EXPECT_EQ(Counter(s, "closed", "passed"), 1);
    EXPECT_EQ(Counter(s, "closed", "changed"), 1);
    EXPECT_EQ(Counter(s, "open", "passed"), 1);
    ASSERT_TRUE(WaitFor([&] { return guest_->Counter("passed") == 2; }))
        << DumpJson(guest_->Status());
    EXPECT_EQ(guest_->Counter("dropped"), 1);
    EXPECT_EQ(guest_->Counter("changed"), 1);

    // The guest stops answering: after the deadline "closed" drops and
    // "open" passes.
    guest_->Pause();
    ASSERT_EQ(sender_->SendTo(9001, "late on a closed source"), 0);
    ASSERT_EQ(sender_->SendTo(8000, "late on an open source"), 0);
    ASSERT_TRUE(WaitFor([&] {
        Json st = Stats();
        return received_[8000].size() == 2 && Counter(st, "closed", "timed_out") == 1 &&
               Counter(st, "open", "timed_out") == 1;
    })) << Log();
    EXPECT_EQ(received_[8000][1], "late on an open source");
    EXPECT_EQ(received_[9001].size(), 2u) << "the fail-closed packet never arrives";

    std::string json_out, text_out;
    ASSERT_EQ(RunTool({"stats", "--stats-socket", stats_path_, "--json"}, &json_out), 0)
        << json_out;
    Result<Json> stats = ParseJson(json_out, "hvfilterd stats --json");
    ASSERT_TRUE(stats.ok()) << json_out;
    EXPECT_EQ(Counter(*stats, "closed", "failed_closed"), 1);
    EXPECT_EQ(Counter(*stats, "closed", "failed_open"), 0);
    EXPECT_EQ(Counter(*stats, "open", "failed_open"), 1);
    EXPECT_EQ(Counter(*stats, "closed", "submitted"), 4);
    ASSERT_EQ(RunTool({"stats", "--stats-socket", stats_path_}, &text_out), 0) << text_out;
    EXPECT_NE(text_out.find("sources.closed.timed_out 1\n"), std::string::npos) << text_out;
    EXPECT_NE(text_out.find("sources.open.failed_open 1\n"), std::string::npos) << text_out;
    EXPECT_NE(text_out.find("sources.closed.nfqueue.packets 4\n"), std::string::npos) << text_out;
    EXPECT_NE(text_out.find("guest.attached true\n"), std::string::npos) << text_out;

    // SIGTERM: exit 0 with the table gone.
    ASSERT_EQ(kill(daemon_, SIGTERM), 0);
    int status = 0;
    auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (waitpid(daemon_, &status, WNOHANG) == 0 && std::chrono::steady_clock::now() < until) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ASSERT_TRUE(WIFEXITED(status)) << Log();
    EXPECT_EQ(WEXITSTATUS(status), 0) << Log();
    daemon_ = -1;
    Result<bool> exists = NftTable::Exists();
    ASSERT_TRUE(exists.ok());
    EXPECT_FALSE(*exists) << "the nft table is removed on a clean exit";
}

TEST_F(DaemonIntegration, NoVmYetItemsGoByPolicyThenItAttaches) {
    ASSERT_NO_FATAL_FAILURE(OpenReceivers());
    ASSERT_NO_FATAL_FAILURE(StartDaemon());
    // No control socket: the daemon runs, retries, and answers by
    // on_guest_absent without waiting for anything.
    ASSERT_TRUE(WaitFor([&] { return Counter(Stats(), "open", "submitted") == 0; })) << Log();
    ASSERT_EQ(sender_->SendTo(9001, "before the vm"), 0);
    ASSERT_EQ(sender_->SendTo(8000, "before the vm"), 0);
    ASSERT_TRUE(WaitFor([&] {
        Json s = Stats();
        return received_[8000].size() == 1 && Counter(s, "closed", "guest_absent") == 1;
    })) << Log();
    EXPECT_TRUE(received_[9001].empty());

    ASSERT_NO_FATAL_FAILURE(StartHvmmAndGuest());
    ASSERT_TRUE(WaitFor([&] { return Attached(); })) << Log();
    ASSERT_TRUE(GuestAttaches(1)) << Log();
    ASSERT_EQ(sender_->SendTo(9001, "after the vm"), 0);
    ASSERT_TRUE(WaitFor([&] { return received_[9001].size() == 1; })) << Log();
    EXPECT_EQ(received_[9001][0], "after the vm");
}

// unruly.so (first in the "open" chain) aborts on HVKIT-CRASH: the worker
// dies, the item it held goes by on_timeout, the runtime starts another
// worker and the next items are the guest's to decide again.
TEST_F(DaemonIntegration, AModuleThatCrashesCostsOnlyItsItems) {
    ASSERT_NO_FATAL_FAILURE(StartAllAttached());

    ASSERT_EQ(sender_->SendTo(8000, "HVKIT-CRASH please"), 0);
    ASSERT_TRUE(WaitFor([&] {
        return received_[8000].size() == 1 && Counter(Stats(), "open", "timed_out") == 1;
    })) << Log();
    EXPECT_EQ(received_[8000][0], "HVKIT-CRASH please") << "fail-open let it through";
    ASSERT_TRUE(WaitFor([&] { return guest_->Counter("worker_failures") == 1; }))
        << DumpJson(guest_->Status());
    EXPECT_EQ(guest_->Counter("abandoned"), 1);

    // A new worker answers again: redact rewrites, on the guest's verdict.
    ASSERT_TRUE(WaitFor([&] { return guest_->Counter("worker_starts") == 2; }))
        << DumpJson(guest_->Status());
    ASSERT_EQ(sender_->SendTo(8000, "a secret after the crash"), 0);
    ASSERT_TRUE(WaitFor([&] { return received_[8000].size() == 2; })) << Log();
    EXPECT_EQ(received_[8000][1], "a ****** after the crash");
    EXPECT_EQ(Counter(Stats(), "open", "changed"), 1);
}

// The guest's runtime is killed with items in flight: each goes by its
// source's on_timeout policy by its deadline. A new runtime finds the
// format served, asks for a fresh one, and hvfilterd formats it: the
// items before it went by on_guest_absent, the ones after are the guest's.
TEST_F(DaemonIntegration, TheGuestKilledMidStreamThenARestartedGuestTakesOver) {
    ASSERT_NO_FATAL_FAILURE(StartAllAttached());

    guest_->Pause();
    for (int i = 0; i < 5; ++i) {
        ASSERT_EQ(sender_->SendTo(9001, "in flight " + std::to_string(i)), 0);
        ASSERT_EQ(sender_->SendTo(8000, "in flight " + std::to_string(i)), 0);
    }
    guest_->Kill();
    ASSERT_TRUE(WaitFor([&] {
        Json s = Stats();
        return received_[8000].size() == 5 && Counter(s, "closed", "timed_out") == 5 &&
               Counter(s, "open", "timed_out") == 5;
    })) << Log();
    EXPECT_TRUE(received_[9001].empty()) << "fail-closed: none of them arrives";
    Json s = Stats();
    EXPECT_EQ(Counter(s, "closed", "failed_closed"), 5);
    EXPECT_EQ(Counter(s, "open", "failed_open"), 5);
    EXPECT_EQ(Counter(s, "closed", "pending"), 0) << "nothing is left unanswered";

    StartGuest();
    ASSERT_TRUE(WaitFor([&] {
        return Log().find("the guest asked for a fresh filter region") != std::string::npos;
    })) << Log();
    ASSERT_TRUE(GuestAttaches(1)) << DumpJson(guest_->Status()) << Log();
    ASSERT_EQ(sender_->SendTo(9001, "a secret for the new guest"), 0);
    ASSERT_TRUE(WaitFor([&] { return received_[9001].size() == 1; })) << Log();
    EXPECT_EQ(received_[9001][0], "a ****** for the new guest");
}

// hvmm exits (the fake ends, closing the control connection hvfilterd kept):
// the pending items go by on_guest_absent at once, without waiting for their
// deadlines, and hvfilterd attaches to the next hvmm on the same socket.
// The guest is paused first, so nothing it answers races the exit.
TEST_F(DaemonIntegration, TheVmGoesAwayThenTheNextOneIsAttached) {
    ASSERT_NO_FATAL_FAILURE(StartAllAttached());

    guest_->Pause();
    for (int i = 0; i < 3; ++i) {
        ASSERT_EQ(sender_->SendTo(9001, "pending " + std::to_string(i)), 0);
        ASSERT_EQ(sender_->SendTo(8000, "pending " + std::to_string(i)), 0);
    }
    // At once: the deadline is 300 ms.
    guest_.reset();
    hvmm_.reset();
    ASSERT_TRUE(WaitFor([&] {
        Json s = Stats();
        return received_[8000].size() == 3 && Counter(s, "closed", "pending") == 0;
    })) << Log();
    // Most, on a loaded machine maybe not all, went by on_guest_absent
    // before their deadline; each went by a policy exactly once.
    Json s = Stats();
    EXPECT_GE(Counter(s, "closed", "guest_absent"), 1) << Log();
    EXPECT_EQ(Counter(s, "closed", "guest_absent") + Counter(s, "closed", "timed_out"), 3);
    EXPECT_EQ(Counter(s, "closed", "failed_closed"), 3);
    EXPECT_EQ(Counter(s, "open", "failed_open"), 3);
    EXPECT_TRUE(received_[9001].empty()) << "fail-closed";
    EXPECT_NE(Log().find("hvmm closed the control connection"), std::string::npos) << Log();
    EXPECT_FALSE(Attached());

    ASSERT_NO_FATAL_FAILURE(StartHvmmAndGuest());
    ASSERT_TRUE(WaitFor([&] { return Attached(); })) << Log();
    ASSERT_TRUE(GuestAttaches(1)) << Log();
    ASSERT_EQ(sender_->SendTo(9001, "to the next vm"), 0);
    ASSERT_TRUE(WaitFor([&] { return received_[9001].size() == 1; })) << Log();
    EXPECT_EQ(received_[9001][0], "to the next vm");
}

TEST(HvfilterdCheck, MalformedConfigIsRefusedWithFileAndLine) {
    Result<std::string> dir = MakeTempDirectory("/tmp", "hvfilterd-check-");
    ASSERT_TRUE(dir.ok());
    std::string bad = *dir + "/bad.json";
    ASSERT_TRUE(WriteFileAtomic(bad, R"({"vm": {"control_socket": "/run/vm.sock"},
 "sources": [{"name": "web", "kind": "network",
   "network": {"queue": 7, "rules": ["udp dport 9999"]},
   "chain": [{"module": "redact"}],
   "deadline_ms": 0, "on_timeout": "fail-open", "on_guest_absent": "fail-open",
   "on_overflow": "fail-open"}]}
)")
                    .ok());
    std::string out;
    EXPECT_EQ(RunTool({"check", "--config", bad}, &out), 2) << out;
    EXPECT_NE(out.find(bad + ":5: sources[0].deadline_ms"), std::string::npos) << out;

    std::string good = *dir + "/good.json";
    ASSERT_TRUE(WriteFileAtomic(good, ConfigText("/run/vm.sock")).ok());
    out.clear();
    EXPECT_EQ(RunTool({"check", "--config", good}, &out), 0) << out;
    out.clear();
    EXPECT_EQ(RunTool({"frobnicate"}, &out), 2) << out;
    (void)RemoveTree(*dir);
}

}  // namespace
}  // namespace hvkit::filterd
