// The agent's journal (agent.sqlite) under the fault file system: a
// transaction walked from downloading to committed, one journaled state at
// a time, with the power cut at every call and with ENOSPC or EIO at every
// call. After each, the journal opens and holds the last state it reported
// (or the one it was writing), never less: a step the agent was told is
// journaled is never lost.
#include <gtest/gtest.h>

#include <optional>
#include <vector>

#include "fault_loop.h"
#include "hvkit/agent/journal.h"
#include "hvkit/fs.h"
#include "temp_dir.h"

namespace hvkit::agent {
namespace {

const std::vector<TxState> kWalk = {TxState::kDownloading,  TxState::kDownloaded,
                                    TxState::kTransferring, TxState::kStaged,
                                    TxState::kCommitting,   TxState::kCommitted};

class JournalPowerTest : public ::testing::Test {
  protected:
    std::string root() const { return tmp_.Sub("state"); }
    std::string path() const { return root() + "/agent.sqlite"; }

    hvkit::testing::FaultScenario Walk() {
        hvkit::testing::FaultScenario s;
        s.root = root();
        s.setup = [this] {
            reported_ = -1;
            ASSERT_TRUE(RemoveTree(root()).ok());
            ASSERT_TRUE(MakeDirectories(root()).ok());
            ASSERT_TRUE(Journal::Open(path()).ok());  // created before the run
        };
        s.operation = [this](FileSystem& fs) -> Status {
            HVKIT_ASSIGN_OR_RETURN(auto journal, Journal::Open(path(), fs));
            HVKIT_ASSIGN_OR_RETURN(int64_t id,
                                   journal->Begin(TxKind::kApply, "0.1.0", "0.2.0", kWalk[0]));
            reported_ = 0;
            for (size_t i = 1; i < kWalk.size(); ++i) {
                HVKIT_RETURN_IF_ERROR(journal->Advance(id, kWalk[i]));
                reported_ = static_cast<int>(i);
            }
            return Status::Ok();
        };
        s.check = [this](bool) {
            auto journal = Journal::Open(path());
            ASSERT_TRUE(journal.ok()) << journal.status().message();
            auto history = (*journal)->History();
            ASSERT_TRUE(history.ok()) << history.status().message();
            if (history->empty()) {
                EXPECT_EQ(reported_, -1) << "a transaction reported begun was lost";
                return;
            }
            ASSERT_EQ(history->size(), 1u);
            int found = -1;
            for (size_t i = 0; i < kWalk.size(); ++i) {
                if (kWalk[i] == history->front().state) found = static_cast<int>(i);
            }
            EXPECT_TRUE(found == reported_ || found == reported_ + 1)
                << "journal says " << TxStateName(history->front().state) << ", the agent was told "
                << (reported_ < 0 ? "nothing" : std::string(TxStateName(kWalk[reported_])));
        };
        return s;
    }

    hvkit::testing::TempDir tmp_;
    int reported_ = -1;  // the index in kWalk of the last state reported journaled
};

TEST_F(JournalPowerTest, APowerCutAtAnyCallLosesNoJournaledStep) {
    EXPECT_GT(hvkit::testing::CutPowerAtEveryCall(Walk()), 10);
}

TEST_F(JournalPowerTest, ENOSPCOrEIOAtAnyCallIsAnErrorAndLosesNoJournaledStep) {
    hvkit::testing::FailEveryCall(Walk(), ENOSPC);
    hvkit::testing::FailEveryCall(Walk(), EIO);
}

}  // namespace
}  // namespace hvkit::agent
