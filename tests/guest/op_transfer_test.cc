// op_transfer and op_stage: the package goes to the hypervisor, its session
// is journaled, and the hypervisor stages it after its own verification.
#include "agent_world.h"

namespace hvkit::agent {
namespace {

using namespace test_world;

using TransferOpTest = AgentTest;

TEST_F(TransferOpTest, TheSessionIsJournaledWithTheTransfer) {
    ApplyWorld& w = World();
    ApplyTransaction t = BeginApply("0.2.0");
    ASSERT_TRUE(DownloadOp(w, t).ok());
    ASSERT_TRUE(VerifyOp(w, t).ok());
    ASSERT_TRUE(TransferOp(w, t).ok());
    EXPECT_NE(t.session, 0u);
    auto pending = journal_->Pending();
    ASSERT_TRUE(pending.ok() && *pending);
    EXPECT_EQ((*pending)->state, TxState::kTransferring);
    EXPECT_EQ((*pending)->session, t.session) << "Recover aborts this session";
    EXPECT_EQ(service_->Report().state, HVCHAN_UPDATE_TRANSFERRING);
}

TEST_F(TransferOpTest, WhileAnotherSessionIsOpenTheHostRefuses) {
    ApplyWorld& w = World();
    ApplyTransaction first = BeginApply("0.2.0");
    ASSERT_TRUE(DownloadOp(w, first).ok());
    ASSERT_TRUE(VerifyOp(w, first).ok());
    ASSERT_TRUE(TransferOp(w, first).ok());
    ApplyTransaction second = first;
    second.session = 0;
    EXPECT_EQ(TransferOp(w, second).code(), ErrorCode::kConflict);
    EXPECT_EQ(second.session, 0u);
}

using StageOpTest = AgentTest;

TEST_F(StageOpTest, TheHypervisorStagesWhatItWasSent) {
    ApplyWorld& w = World();
    ApplyTransaction t = BeginApply("0.2.0");
    for (auto op : {DownloadOp, VerifyOp, TransferOp}) ASSERT_TRUE(op(w, t).ok());
    ASSERT_TRUE(StageOp(w, t).ok());
    EXPECT_EQ(service_->Report().state, HVCHAN_UPDATE_STAGED);
    EXPECT_EQ(HostCommitted(), "") << "staged, not committed";
}

TEST_F(StageOpTest, AStageWithoutTheWholePackageIsRefused) {
    ApplyWorld& w = World();
    ApplyTransaction t = BeginApply("0.2.0");
    ASSERT_TRUE(DownloadOp(w, t).ok());
    ASSERT_TRUE(VerifyOp(w, t).ok());
    t.session = 77;  // no such session
    EXPECT_EQ(StageOp(w, t).code(), ErrorCode::kConflict);
    EXPECT_NE(service_->Report().state, HVCHAN_UPDATE_STAGED);
}

}  // namespace
}  // namespace hvkit::agent
