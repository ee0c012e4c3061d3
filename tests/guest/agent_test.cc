// The update agent against the real host side in the same process: hvmm's
// UpdateService and release store behind a loopback UpdateHost, packages from
// a directory, the journal and guest extensions on real files. The agent is
// "killed" at every step (an exception out of the reporter, so the host lives
// on, as it does when the guest's agent dies); the next agent's Recover must
// leave host and guest both at the old or both at the new version.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <map>

#include "hvkit/agent/agent.h"
#include "hvkit/package/input.h"
#include "release_fixture.h"
#include "stop_point.h"
#include "update/update_service.h"

namespace hvkit::agent {
namespace {

using hvmm::testing::V;

// The hypervisor's side, called directly instead of through hvchan.
class LoopbackHost final : public UpdateHost {
  public:
    explicit LoopbackHost(hvmm::UpdateService& service) : service_(service) {}
    Result<HostVersions> Versions() override {
        return HostVersions{"0.1.0", service_.committed_version(), permitted};
    }
    bool permitted = true;  // hvmm's --allow-hypervisor-update
    Result<uint64_t> Send(const std::string& package, const Sha256Digest& package_sha256,
                          const std::string& manifest, const Progress& progress) override {
        HVKIT_ASSIGN_OR_RETURN(std::string bytes, ReadFile(package, 1 << 26));
        hvmm::UpdateService::Begin begin{bytes.size(), package_sha256, manifest};
        HVKIT_ASSIGN_OR_RETURN(uint64_t session, service_.BeginSession(begin));
        for (size_t off = 0; off < bytes.size(); off += 65536) {
            std::string chunk = bytes.substr(off, 65536);
            auto w = service_.Write(session, off,
                                    {reinterpret_cast<const uint8_t*>(chunk.data()), chunk.size()},
                                    Sha256::Of(chunk));
            if (!w.ok()) return w.status();
            if (progress) progress(off + chunk.size(), bytes.size());
        }
        return session;
    }
    Status End(uint64_t s) override { return service_.End(s); }
    Status Commit(uint64_t s) override { return service_.Commit(s); }
    Status Abort(uint64_t s) override { return service_.Abort(s); }
    Status Rollback() override { return service_.Rollback(); }
    Result<hvchan_update_status> Report() override { return service_.Report(); }

  private:
    hvmm::UpdateService& service_;
};

class DirectorySource final : public PackageSource {
  public:
    std::map<std::string, std::string> packages;  // version -> file
    int fetches = 0;
    Status Refresh() override { return Status::Ok(); }
    Result<std::vector<SemVer>> Available() override {
        std::vector<SemVer> out;
        for (const auto& [v, path] : packages) out.push_back(V(v.c_str()));
        return out;
    }
    Result<Sha256Digest> Fetch(const SemVer& version, const std::string& dest,
                               const Progress&) override {
        ++fetches;
        auto it = packages.find(version.ToString());
        if (it == packages.end()) return Error(ErrorCode::kNotFound, "no such version");
        HVKIT_ASSIGN_OR_RETURN(std::string bytes, ReadFile(it->second, 1 << 26));
        HVKIT_RETURN_IF_ERROR(WriteFileAtomic(dest, bytes));
        return Sha256::Of(bytes);
    }
};

struct Killed {};

class RecordingReporter final : public Reporter {
  public:
    std::string kill_at;            // a step that starts with this throws Killed
    bool kill_in_progress = false;  // the first progress report throws Killed
    std::vector<std::string> steps;
    void Step(std::string_view what) override {
        steps.emplace_back(what);
        if (!kill_at.empty() && what.substr(0, kill_at.size()) == kill_at) throw Killed{};
    }
    void Progress(std::string_view, uint64_t, uint64_t) override {
        if (kill_in_progress) throw Killed{};
    }
};

class AgentTest : public hvmm::testing::ReleaseFixture {
  protected:
    void SetUp() override {
        ReleaseFixture::SetUp();
        hvmm::ReleaseStoreOptions options;
        options.running_version = V("0.1.0");
        auto store = hvmm::ReleaseStore::Open(store_dir(), options);
        ASSERT_TRUE(store.ok()) << store.status().message();
        service_ =
            std::make_unique<hvmm::UpdateService>(std::move(*store), [this] { return now_; });
        host_ = std::make_unique<LoopbackHost>(*service_);
        config_.state_dir = tmp_.Sub("guest-state");
        config_.extensions_dir = tmp_.Sub("guest-ext");
        ASSERT_TRUE(MakeDirectories(config_.state_dir).ok());
        auto journal = Journal::Open(config_.state_dir + "/agent.sqlite");
        ASSERT_TRUE(journal.ok());
        journal_ = std::move(*journal);
        extensions_ = std::make_unique<ExtensionStore>(config_.extensions_dir);
        source_.packages["0.2.0"] = Package("0.2.0");
        source_.packages["0.3.0"] = Package("0.3.0");
    }
    Agent MakeAgent() {
        auto trust = PackageTrustStore::Load(store_dir() + "/trust.json");
        return Agent(config_, *trust, *journal_, *extensions_, source_, *host_, reporter_);
    }
    std::string GuestCurrent() {
        auto c = extensions_->Current();
        return c.ok() && *c ? **c : "";
    }
    std::string HostCommitted() { return service_->committed_version(); }

    int64_t now_ = 1000;
    AgentConfig config_;
    std::unique_ptr<hvmm::UpdateService> service_;
    std::unique_ptr<LoopbackHost> host_;
    std::unique_ptr<Journal> journal_;
    std::unique_ptr<ExtensionStore> extensions_;
    DirectorySource source_;
    RecordingReporter reporter_;
};

TEST_F(AgentTest, ApplyCommitsHostAndGuestAndRecordsIt) {
    Agent agent = MakeAgent();
    auto check = agent.Check();
    ASSERT_TRUE(check.ok()) << check.status().message();
    EXPECT_EQ(check->installed, "0.1.0");
    EXPECT_EQ(check->newer, "0.3.0");
    auto r = agent.Apply(V("0.2.0"));
    ASSERT_TRUE(r.ok()) << r.status().message();
    EXPECT_EQ(HostCommitted(), "0.2.0");
    EXPECT_EQ(CurrentHvmm(), "hvmm 0.2.0\n");
    EXPECT_EQ(GuestCurrent(), "0.2.0");
    EXPECT_TRUE(ReadFile(config_.extensions_dir + "/current/guest/bin/agent", 100).ok());
    auto newest = agent.Apply(std::nullopt);
    ASSERT_TRUE(newest.ok()) << newest.status().message();
    EXPECT_EQ(newest->to, "0.3.0");
    EXPECT_EQ(GuestCurrent(), "0.3.0");
    auto again = agent.Apply(std::nullopt);
    ASSERT_TRUE(again.ok());
    EXPECT_FALSE(again->changed) << "up to date";
    auto history = journal_->History();
    ASSERT_TRUE(history.ok());
    ASSERT_EQ(history->size(), 2u);
    EXPECT_EQ((*history)[0].to_version, "0.3.0");
    EXPECT_EQ((*history)[0].state, "committed");
    EXPECT_EQ((*history)[1].from_version, "0.1.0");
}

TEST_F(AgentTest, RollbackGoesBackOnHostAndGuest) {
    Agent agent = MakeAgent();
    ASSERT_TRUE(agent.Apply(V("0.2.0")).ok());
    ASSERT_TRUE(agent.Apply(V("0.3.0")).ok());
    auto back = agent.Rollback();
    ASSERT_TRUE(back.ok()) << back.status().message();
    EXPECT_EQ(back->to, "0.2.0");
    EXPECT_EQ(HostCommitted(), "0.2.0");
    EXPECT_EQ(GuestCurrent(), "0.2.0");
}

TEST_F(AgentTest, TheAgentRefusesWhatItsTrustStoreDoesNot) {
    source_.packages["0.4.0"] = Package("0.4.0", &stranger_);
    Agent agent = MakeAgent();
    auto r = agent.Apply(V("0.4.0"));
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), ErrorCode::kBadSignature) << r.status().message();
    EXPECT_EQ(HostCommitted(), "") << "nothing reached the host";
    auto history = journal_->History();
    EXPECT_EQ((*history)[0].state, "failed");
    auto down = agent.Apply(V("0.1.0"));
    EXPECT_FALSE(down.ok()) << "not above the installed version";
}

TEST_F(AgentTest, WithoutThePermissionNothingIsDownloaded) {
    host_->permitted = false;
    Agent agent = MakeAgent();
    auto r = agent.Apply(std::nullopt);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), ErrorCode::kRefused);
    EXPECT_NE(r.status().message().find("--allow-hypervisor-update"), std::string::npos)
        << r.status().message();
    EXPECT_EQ(source_.fetches, 0) << "refused before the download";
    EXPECT_EQ(HostCommitted(), "");
    EXPECT_TRUE(journal_->History()->empty()) << "no transaction was begun";
}

struct KillCase {
    const char* step;   // the agent dies as it reports the step starting so
    const char* after;  // where host and guest both are after recovery ("" = nothing committed)
};

class AgentKillTest : public AgentTest, public ::testing::WithParamInterface<KillCase> {};

TEST_P(AgentKillTest, TheNextRunLeavesOldOrNewNeverAMix) {
    reporter_.kill_at = GetParam().step;
    {
        Agent agent = MakeAgent();
        EXPECT_THROW((void)agent.Apply(V("0.2.0")), Killed);
    }
    reporter_.kill_at.clear();
    now_ += HVCHAN_UPDATE_SESSION_TIMEOUT_S;  // the dead agent's session would expire
    Agent next = MakeAgent();
    auto recovered = next.Recover();
    ASSERT_TRUE(recovered.ok()) << recovered.status().message();
    EXPECT_NE(*recovered, "") << "there was a transaction to recover";
    EXPECT_EQ(HostCommitted(), GetParam().after);
    EXPECT_EQ(GuestCurrent(), GetParam().after);
    EXPECT_FALSE(journal_->Pending()->has_value());
    // A new apply completes from either side.
    auto r = next.Apply(std::nullopt);
    ASSERT_TRUE(r.ok()) << r.status().message();
    EXPECT_EQ(HostCommitted(), "0.3.0");
    EXPECT_EQ(GuestCurrent(), "0.3.0");
}

// Killed mid-transfer, before the agent journaled the host's session: the
// next run (right away, the session far from expiring) must close that
// session, or the host would refuse the new BEGIN as busy.
TEST_F(AgentTest, AnUnjournaledSessionIsClosedSoTheNextApplyIsNotBusy) {
    reporter_.kill_in_progress = true;  // in the transfer: the session is not journaled yet
    {
        Agent agent = MakeAgent();
        EXPECT_THROW((void)agent.Apply(V("0.2.0")), Killed);
    }
    reporter_.kill_in_progress = false;
    ASSERT_EQ(service_->Report().state, HVCHAN_UPDATE_RECEIVING)
        << "the dead agent's session is open";
    Agent next = MakeAgent();
    auto r = next.Apply(std::nullopt);
    ASSERT_TRUE(r.ok()) << r.status().message();
    EXPECT_EQ(HostCommitted(), "0.3.0");
    EXPECT_EQ(GuestCurrent(), "0.3.0");
}

INSTANTIATE_TEST_SUITE_P(EveryStep, AgentKillTest,
                         ::testing::Values(KillCase{"downloading", ""}, KillCase{"verifying", ""},
                                           KillCase{"transferring", ""},
                                           KillCase{"the hypervisor verifies", ""},
                                           KillCase{"installing", ""}, KillCase{"committing", ""},
                                           KillCase{"the hypervisor committed", "0.2.0"}),
                         [](const ::testing::TestParamInfo<KillCase>& info) {
                             std::string name;
                             for (char ch : std::string(info.param.step))
                                 name += isalnum(ch) ? ch : '_';
                             return name;
                         });

// HVUPDATE_TEST_STOP_AT's points (guest-agent/tools/stop_point.h), where the
// system fault scenarios cut an apply: a child process applies and stops
// itself; the parent reads what the child has made durable there.
struct StopCase {
    const char* point;
    const char* journal_state;   // the transaction's state in the guest's journal
    const char* host_committed;  // the host store's committed release ("" = none)
};

class StopPointTest : public AgentTest, public ::testing::WithParamInterface<StopCase> {};

TEST_P(StopPointTest, AnApplyStopsWhereThePointSays) {
    auto trust = PackageTrustStore::Load(store_dir() + "/trust.json");
    ASSERT_TRUE(trust.ok());
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
        StopPointReporter stopper(reporter_, std::string(GetParam().point));
        Agent agent(config_, *trust, *journal_, *extensions_, source_, *host_, stopper);
        (void)agent.Apply(V("0.2.0"));
        _exit(0);
    }
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, WUNTRACED), pid);
    bool stopped = WIFSTOPPED(status);
    std::string journal_state = "(none)", host_committed;
    if (stopped) {
        auto journal = Journal::Open(config_.state_dir + "/agent.sqlite");
        ASSERT_TRUE(journal.ok());
        auto pending = (*journal)->Pending();
        if (pending.ok() && *pending) journal_state = (*pending)->state;
        auto committed = hvmm::ReleaseStore::Peek(store_dir());
        ASSERT_TRUE(committed.ok()) << committed.status().message();
        if (*committed) host_committed = (*committed)->version.ToString();
    }
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    ASSERT_TRUE(stopped) << "the apply never reached " << GetParam().point;
    EXPECT_EQ(journal_state, GetParam().journal_state);
    EXPECT_EQ(host_committed, GetParam().host_committed);
}

INSTANTIATE_TEST_SUITE_P(EveryPoint, StopPointTest,
                         ::testing::Values(StopCase{"downloaded", "downloaded", ""},
                                           StopCase{"mid-transfer", "transferring", ""},
                                           StopCase{"staged", "committing", ""},
                                           StopCase{"committing", "committing", "0.2.0"}),
                         [](const ::testing::TestParamInfo<StopCase>& info) {
                             std::string name;
                             for (char ch : std::string(info.param.point))
                                 name += isalnum(ch) ? ch : '_';
                             return name;
                         });

TEST(StopPoint, AnUnknownPointIsRefusedNamingTheVariable) {
    setenv(StopPointReporter::kVariable, "halfway", 1);
    auto point = StopPointReporter::PointFromEnvironment();
    unsetenv(StopPointReporter::kVariable);
    ASSERT_FALSE(point.ok());
    EXPECT_EQ(point.status().code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(point.status().message().find("HVUPDATE_TEST_STOP_AT=halfway"), std::string::npos)
        << point.status().message();
}

}  // namespace
}  // namespace hvkit::agent
