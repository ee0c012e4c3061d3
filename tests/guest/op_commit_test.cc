// op_install, op_commit and the pipeline: the guest's half is staged beside
// the current one, the hypervisor commits before the guest switches, and a
// failure anywhere before the hypervisor's commit drops both halves.
#include <unistd.h>

#include <thread>

#include "agent_world.h"
#include "hvkit/agent/host_trial.h"

namespace hvkit::agent {
namespace {

using namespace test_world;

class CommitOpTest : public AgentTest {
  protected:
    // Runs the ops before op_install on (t).
    void UpToStage(ApplyWorld& w, ApplyTransaction& t) {
        for (auto op : {DownloadOp, VerifyOp, TransferOp, StageOp}) ASSERT_TRUE(op(w, t).ok());
    }
};

TEST_F(CommitOpTest, InstallStagesTheGuestExtensionsWithoutSwitching) {
    ApplyWorld& w = World();
    ApplyTransaction t = BeginApply("0.2.0");
    UpToStage(w, t);
    ASSERT_TRUE(InstallOp(w, t).ok());
    EXPECT_TRUE(extensions_->Staged(V("0.2.0")));
    EXPECT_EQ(GuestCurrent(), "") << "not switched";
    EXPECT_EQ(JournalState(t.id), TxState::kStaged);
}

TEST_F(CommitOpTest, CommitSwitchesHypervisorThenGuestAndCleansTheDownload) {
    ApplyWorld& w = World();
    ApplyTransaction t = BeginApply("0.2.0");
    UpToStage(w, t);
    ASSERT_TRUE(InstallOp(w, t).ok());
    reporter_.steps.clear();
    ASSERT_TRUE(CommitOp(w, t).ok());
    EXPECT_EQ(HostCommitted(), "0.2.0");
    EXPECT_EQ(GuestCurrent(), "0.2.0");
    EXPECT_EQ(JournalState(t.id), TxState::kCommitted);
    EXPECT_NE(access(t.package_path.c_str(), F_OK), 0) << "the download is removed";
    EXPECT_EQ(reporter_.steps, (std::vector<UpdateStep>{UpdateStep::kCommit, UpdateStep::kSwitch,
                                                        UpdateStep::kDone}));
}

TEST_F(CommitOpTest, APipelineFailureDropsBothHalvesAndJournalsWhy) {
    ApplyWorld& w = World();
    ApplyTransaction t = BeginApply("0.2.0");
    // The guest's extensions directory cannot be written: op_install fails
    // after hvmm staged its part.
    ASSERT_TRUE(MakeDirectories(config_.extensions_dir).ok());
    ASSERT_TRUE(WriteFileAtomic(config_.extensions_dir + "/versions", "not a directory").ok());
    Status st = RunApply(w, t);
    ASSERT_FALSE(st.ok());
    EXPECT_EQ(JournalState(t.id), TxState::kFailed);
    EXPECT_NE(service_->Report().state, HVCHAN_UPDATE_STAGED) << "hvmm's session was aborted";
    EXPECT_EQ(HostCommitted(), "");
    EXPECT_FALSE(journal_->Pending()->has_value());
}

TEST_F(CommitOpTest, APipelineRunsEveryOpInOrder) {
    ApplyWorld& w = World();
    ApplyTransaction t = BeginApply("0.2.0");
    ASSERT_TRUE(RunApply(w, t).ok());
    EXPECT_EQ(reporter_.steps, (std::vector<UpdateStep>{UpdateStep::kDownload, UpdateStep::kVerify,
                                                        UpdateStep::kTransfer, UpdateStep::kStage,
                                                        UpdateStep::kInstall, UpdateStep::kCommit,
                                                        UpdateStep::kSwitch, UpdateStep::kDone}));
    EXPECT_EQ(HostCommitted(), "0.2.0");
}

// A host that takes its guests over on commit (issue 14): COMMIT puts the
// release on trial and the verdict comes later, from the takeover. Here a
// thread stands in for it; the guest switches only to what passed.
class TrialCommitTest : public CommitOpTest {
  protected:
    // The host's takeover: the verdict (pass, or fail with (why)) after a
    // few of the guest's status polls.
    void HostDecides(bool pass, std::string why = "") {
        service_->SetTrialStarter([this, pass, why](const std::string& binary) {
            binary_ = binary;
            verdict_ = std::thread([this, pass, why] {
                usleep(50000);
                if (pass) {
                    EXPECT_TRUE(service_->PassTrial().ok());
                } else {
                    service_->FailTrial(why);
                }
            });
            return Status::Ok();
        });
    }
    void TearDown() override {
        if (verdict_.joinable()) verdict_.join();
        CommitOpTest::TearDown();
    }
    std::thread verdict_;
    std::string binary_;
};

TEST_F(TrialCommitTest, TheGuestSwitchesOnceTheHostsTrialPassed) {
    HostDecides(true);
    ApplyWorld& w = World();
    ApplyTransaction t = BeginApply("0.2.0");
    UpToStage(w, t);
    ASSERT_TRUE(InstallOp(w, t).ok());
    ASSERT_TRUE(CommitOp(w, t).ok());
    EXPECT_NE(binary_.find("/slots/a/hypervisor/bin/hvmm"), std::string::npos) << binary_;
    EXPECT_EQ(HostCommitted(), "0.2.0");
    EXPECT_EQ(GuestCurrent(), "0.2.0");
    EXPECT_EQ(JournalState(t.id), TxState::kCommitted);
    EXPECT_EQ(service_->Report().state, HVCHAN_UPDATE_COMMITTED);
}

TEST_F(TrialCommitTest, AFailedTrialLeavesBothHalvesOnThePreviousRelease) {
    HostDecides(false, "the guest made no hvchan call within 30000 ms of the takeover");
    ApplyWorld& w = World();
    ApplyTransaction t = BeginApply("0.2.0");
    Status st = RunApply(w, t);
    ASSERT_FALSE(st.ok());
    EXPECT_EQ(st.code(), ErrorCode::kRefused);
    EXPECT_NE(st.message().find("trial of 0.2.0 failed"), std::string::npos) << st.message();
    EXPECT_NE(st.message().find("no hvchan call"), std::string::npos) << st.message();
    EXPECT_EQ(HostCommitted(), "");
    EXPECT_EQ(GuestCurrent(), "") << "the guest never switched";
    EXPECT_FALSE(extensions_->Staged(V("0.2.0"))) << "its staged half is dropped";
    EXPECT_EQ(JournalState(t.id), TxState::kFailed);
}

TEST_F(TrialCommitTest, AWaitWithoutAVerdictTimesOutNamingTheTrial) {
    service_->SetTrialStarter([](const std::string&) { return Status::Ok(); });  // silent
    ApplyWorld& w = World();
    ApplyTransaction t = BeginApply("0.2.0");
    UpToStage(w, t);
    ASSERT_TRUE(InstallOp(w, t).ok());
    ASSERT_TRUE(w.host.Commit(t.session).ok());
    Status st = AwaitHostTrial(w.host, "0.2.0", std::chrono::milliseconds(200),
                               std::chrono::milliseconds(20));
    EXPECT_EQ(st.code(), ErrorCode::kNetwork);
    EXPECT_NE(st.message().find("no verdict on its trial of 0.2.0"), std::string::npos)
        << st.message();
    EXPECT_TRUE(AwaitHostTrial(w.host, "0.3.0").ok()) << "another version is not on trial";
}

}  // namespace
}  // namespace hvkit::agent
