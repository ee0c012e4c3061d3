// op_install, op_commit and the pipeline: the guest's half is staged beside
// the current one, the hypervisor commits before the guest switches, and a
// failure anywhere before the hypervisor's commit drops both halves.
#include <unistd.h>

#include "agent_world.h"

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

}  // namespace
}  // namespace hvkit::agent
