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

#include "agent_world.h"
#include "stop_point.h"

namespace hvkit::agent {
namespace {

using namespace test_world;

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
    EXPECT_EQ((*history)[0].state, TxState::kCommitted);
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
    EXPECT_EQ((*history)[0].state, TxState::kFailed);
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
    UpdateStep step;    // the agent dies as this step begins
    const char* after;  // where host and guest both are after recovery ("" = nothing committed)
};

class AgentKillTest : public AgentTest, public ::testing::WithParamInterface<KillCase> {};

TEST_P(AgentKillTest, TheNextRunLeavesOldOrNewNeverAMix) {
    reporter_.kill_at = GetParam().step;
    {
        Agent agent = MakeAgent();
        EXPECT_THROW((void)agent.Apply(V("0.2.0")), Killed);
    }
    reporter_.kill_at.reset();
    clock_.Advance(std::chrono::seconds(
        HVCHAN_UPDATE_SESSION_TIMEOUT_S));  // the dead agent's session would expire
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
    ASSERT_EQ(service_->Report().state, HVCHAN_UPDATE_TRANSFERRING)
        << "the dead agent's session is open";
    Agent next = MakeAgent();
    auto r = next.Apply(std::nullopt);
    ASSERT_TRUE(r.ok()) << r.status().message();
    EXPECT_EQ(HostCommitted(), "0.3.0");
    EXPECT_EQ(GuestCurrent(), "0.3.0");
}

INSTANTIATE_TEST_SUITE_P(
    EveryStep, AgentKillTest,
    ::testing::Values(KillCase{UpdateStep::kDownload, ""}, KillCase{UpdateStep::kVerify, ""},
                      KillCase{UpdateStep::kTransfer, ""}, KillCase{UpdateStep::kStage, ""},
                      KillCase{UpdateStep::kInstall, ""}, KillCase{UpdateStep::kCommit, ""},
                      KillCase{UpdateStep::kSwitch, "0.2.0"}),
    [](const ::testing::TestParamInfo<KillCase>& info) {
        return std::string(UpdateStepName(info.param.step));
    });

// HVUPDATE_TEST_STOP_AT's points (guest-agent/tools/stop_point.h), where the
// system fault scenarios cut an apply: a child process applies and stops
// itself; the parent reads what the child has made durable there.
struct StopCase {
    const char* point;
    TxState journal_state;       // the transaction's state in the guest's journal
    const char* host_committed;  // the host store's committed release ("" = none)
};

class StopPointTest : public AgentTest, public ::testing::WithParamInterface<StopCase> {};

TEST_P(StopPointTest, AnApplyStopsWhereThePointSays) {
    auto trust = PackageTrustStore::Load(store_dir() + "/trust.json");
    ASSERT_TRUE(trust.ok());
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
        auto point = StopPointReporter::Parse(GetParam().point);
        if (!point.ok()) _exit(3);
        StopPointReporter stopper(reporter_, *point);
        Agent agent(config_, *trust, *journal_, *extensions_, source_, *host_, stopper);
        (void)agent.Apply(V("0.2.0"));
        _exit(0);
    }
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, WUNTRACED), pid);
    bool stopped = WIFSTOPPED(status);
    std::optional<TxState> journal_state;
    std::string host_committed;
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
    EXPECT_EQ(journal_state, GetParam().journal_state)
        << "a stop point is named for the journal state it leaves";
    EXPECT_EQ(host_committed, GetParam().host_committed);
}

INSTANTIATE_TEST_SUITE_P(EveryPoint, StopPointTest,
                         ::testing::Values(StopCase{"downloaded", TxState::kDownloaded, ""},
                                           StopCase{"mid-transfer", TxState::kTransferring, ""},
                                           StopCase{"staged", TxState::kStaged, ""},
                                           StopCase{"committing", TxState::kCommitting, "0.2.0"}),
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
