// op_download: the package lands at its download path with the digest the
// source verified, and the journal says downloaded; a failed fetch leaves
// the journal where it was for the pipeline to fail.
#include "agent_world.h"

namespace hvkit::agent {
namespace {

using namespace test_world;

using DownloadOpTest = AgentTest;

TEST_F(DownloadOpTest, ThePackageLandsAtItsPathAndTheJournalSaysDownloaded) {
    ApplyWorld& w = World();
    ApplyTransaction t = BeginApply("0.2.0");
    ASSERT_TRUE(DownloadOp(w, t).ok());
    EXPECT_EQ(t.package_path, DownloadPath(config_, V("0.2.0")));
    auto bytes = ReadFile(t.package_path, 1 << 26);
    ASSERT_TRUE(bytes.ok()) << bytes.status().message();
    EXPECT_EQ(t.package_sha256, Sha256::Of(*bytes));
    EXPECT_EQ(JournalState(t.id), TxState::kDownloaded);
    ASSERT_FALSE(reporter_.steps.empty());
    EXPECT_EQ(reporter_.steps.front(), UpdateStep::kDownload);
}

TEST_F(DownloadOpTest, AFailedFetchIsReportedAndNothingAdvances) {
    ApplyWorld& w = World();
    ApplyTransaction t = BeginApply("0.9.0");  // not in the source
    Status st = DownloadOp(w, t);
    EXPECT_EQ(st.code(), ErrorCode::kNotFound) << st.message();
    EXPECT_EQ(JournalState(t.id), TxState::kDownloading);
}

}  // namespace
}  // namespace hvkit::agent
