// A staged release on trial (issue 14): `current` and the floor move only
// when the trial passes; a failed trial or an owner that dies mid-trial (a
// host restart) leaves the previous release running, journaled; another
// hvmm starting meanwhile leaves a live trial alone. Real packages, files,
// SQLite and processes.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include "other_hvmm.h"
#include "release_fixture.h"
#include "update/release_store.h"

namespace hvkit::hvmm {
namespace {

using testing::OtherHvmm;
using testing::V;

class ReleaseTrialTest : public testing::ReleaseFixture {
  protected:
    std::unique_ptr<ReleaseStore> Open(ReleaseStoreOptions options = {}) {
        options.running_version = V("0.1.0");
        auto store = ReleaseStore::Open(store_dir(), std::move(options));
        EXPECT_TRUE(store.ok()) << store.status().message();
        return store.ok() ? std::move(*store) : nullptr;
    }
    // 0.2.0 committed in slot a (floor 0.1.0), 0.3.0 staged in slot b.
    std::unique_ptr<ReleaseStore> OpenWithTwoReleases() {
        auto store = Open();
        if (!store || !store->Stage(Package("0.2.0")).ok() || !store->Commit().ok()) return nullptr;
        if (!store->Stage(Package("0.3.0")).ok()) return nullptr;
        return store;
    }
    std::optional<Trial> LastTrial() {
        auto trial = ReleaseStore::PeekTrial(store_dir());
        EXPECT_TRUE(trial.ok()) << trial.status().message();
        return trial.ok() ? *trial : std::nullopt;
    }
    bool FileExists(const std::string& path) { return access(path.c_str(), F_OK) == 0; }
    // Another process stages 0.3.0, puts it on trial and passes it, and is
    // killed right after (step) of that commit.
    void PassTrialKilledAfter(std::string_view step) {
        std::string pkg = Package("0.3.0");
        pid_t pid = fork();
        ASSERT_GE(pid, 0);
        if (pid == 0) {
            ReleaseStoreOptions options{V("0.1.0"), {}};
            options.after_step = [step](std::string_view at) {
                if (at == step) _exit(42);
            };
            auto store = ReleaseStore::Open(store_dir(), options);
            if (!store.ok() || !(*store)->Stage(pkg).ok() || !(*store)->BeginTrial().ok()) _exit(1);
            (void)(*store)->Commit();
            _exit(0);
        }
        int status = 0;
        waitpid(pid, &status, 0);
        ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 42) << "not killed after " << step;
    }
    // The state and detail of the journal's transaction (id).
    std::pair<std::string, std::string> Transaction(int64_t id) {
        auto db = Database::Open(store_dir() + "/journal.sqlite");
        EXPECT_TRUE(db.ok());
        auto st = (*db)->Prepare("SELECT state, detail FROM transactions WHERE id = ?");
        EXPECT_TRUE(st.ok());
        st->Bind(1, id);
        auto row = st->Step();
        EXPECT_TRUE(row.ok() && *row);
        return {st->ColumnText(0), st->ColumnText(1)};
    }
};

TEST_F(ReleaseTrialTest, OnlyAPassedTrialMovesCurrentAndTheFloor) {
    auto store = OpenWithTwoReleases();
    ASSERT_NE(store, nullptr);
    EXPECT_FALSE(LastTrial().has_value());
    auto trial = store->BeginTrial();
    ASSERT_TRUE(trial.ok()) << trial.status().message();
    EXPECT_EQ(trial->version, V("0.3.0"));
    EXPECT_EQ(CurrentHvmm(), "hvmm 0.2.0\n") << "a release on trial is not current yet";
    EXPECT_EQ(store->floor(), V("0.1.0")) << "the floor rises only when the trial passes";
    ASSERT_TRUE(LastTrial().has_value());
    EXPECT_EQ(LastTrial()->outcome, TrialOutcome::kOnTrial);
    EXPECT_EQ(LastTrial()->ended_at, 0);
    EXPECT_EQ(store->BeginTrial().status().code(), ErrorCode::kConflict) << "one trial at a time";
    EXPECT_EQ(store->Abort().code(), ErrorCode::kConflict) << "a trial ends by its verdict";

    ASSERT_TRUE(store->Commit().ok());
    EXPECT_EQ(CurrentHvmm(), "hvmm 0.3.0\n");
    EXPECT_EQ(store->floor(), V("0.2.0"));
    ASSERT_TRUE(LastTrial().has_value());
    EXPECT_EQ(LastTrial()->outcome, TrialOutcome::kPassed);
    EXPECT_GT(LastTrial()->ended_at, 0);
    EXPECT_EQ(Transaction(trial->transaction).first, "committed");
}

TEST_F(ReleaseTrialTest, AFailedTrialEmptiesItsSlotAndMovesNothing) {
    auto store = OpenWithTwoReleases();
    ASSERT_NE(store, nullptr);
    EXPECT_EQ(store->FailTrial("x").code(), ErrorCode::kConflict) << "nothing is on trial yet";
    auto trial = store->BeginTrial();
    ASSERT_TRUE(trial.ok()) << trial.status().message();
    ASSERT_TRUE(store->FailTrial("the successor refused the state (format 3)").ok());
    EXPECT_EQ(CurrentHvmm(), "hvmm 0.2.0\n");
    EXPECT_EQ(store->floor(), V("0.1.0"));
    EXPECT_FALSE(FileExists(store->SlotPath('b'))) << "the failed release's slot is emptied";
    EXPECT_FALSE(store->staged().has_value());
    ASSERT_TRUE(LastTrial().has_value());
    EXPECT_EQ(LastTrial()->outcome, TrialOutcome::kFailed);
    EXPECT_EQ(LastTrial()->detail, "the successor refused the state (format 3)");
    auto [state, detail] = Transaction(trial->transaction);
    EXPECT_EQ(state, "failed");
    EXPECT_EQ(detail, "trial failed: the successor refused the state (format 3)");
    EXPECT_EQ(store->Rollback().status().code(), ErrorCode::kConflict)
        << "slot b holds nothing to roll back to";

    // The same release may be tried again, and pass.
    ASSERT_TRUE(store->Stage(Package("0.3.0")).ok());
    ASSERT_TRUE(store->BeginTrial().ok());
    ASSERT_TRUE(store->Commit().ok());
    EXPECT_EQ(CurrentHvmm(), "hvmm 0.3.0\n");
    EXPECT_EQ(LastTrial()->outcome, TrialOutcome::kPassed);
}

// A host that restarts while a release is on trial starts the previous one:
// the trial's owner dies holding it, `current` never moved, and the next
// hvmm to open the store records the trial interrupted.
TEST_F(ReleaseTrialTest, AnOwnerThatDiesMidTrialLeavesThePreviousReleaseRunning) {
    ASSERT_NE(OpenWithTwoReleases(), nullptr);  // closed: the next owner stages again
    {
        auto store = Open();
        ASSERT_NE(store, nullptr);
        ASSERT_FALSE(store->staged().has_value()) << "a dead owner's staged release expired";
    }
    std::string pkg = Package("0.3.0");
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
        auto store = ReleaseStore::Open(store_dir(), ReleaseStoreOptions{V("0.1.0"), {}});
        if (!store.ok() || !(*store)->Stage(pkg).ok() || !(*store)->BeginTrial().ok()) _exit(1);
        _exit(0);  // dies on trial, as in a power cut
    }
    int status = 0;
    waitpid(pid, &status, 0);
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    ASSERT_TRUE(LastTrial().has_value());
    EXPECT_EQ(LastTrial()->outcome, TrialOutcome::kOnTrial);
    EXPECT_EQ(CurrentHvmm(), "hvmm 0.2.0\n") << "a restart here starts the previous release";

    auto store = Open();
    ASSERT_NE(store, nullptr);
    EXPECT_EQ(CurrentHvmm(), "hvmm 0.2.0\n");
    EXPECT_EQ(store->floor(), V("0.1.0"));
    ASSERT_TRUE(LastTrial().has_value());
    EXPECT_EQ(LastTrial()->outcome, TrialOutcome::kFailed);
    EXPECT_NE(LastTrial()->detail.find("interrupted"), std::string::npos) << LastTrial()->detail;
    EXPECT_EQ(Transaction(LastTrial()->transaction).second, "interrupted during its trial");
    EXPECT_FALSE(FileExists(store->SlotPath('b')));
}

// Another hvmm on the same directory starting mid-trial (its recovery) must
// leave a live trial alone; the owner then passes it.
TEST_F(ReleaseTrialTest, AnotherHvmmStartingMidTrialLeavesALiveTrialAlone) {
    ASSERT_NE(OpenWithTwoReleases(), nullptr);
    std::string pkg = Package("0.3.0");
    std::unique_ptr<ReleaseStore> owner;
    OtherHvmm child(
        [&] {
            owner = Open();
            return owner && owner->Stage(pkg).ok() && owner->BeginTrial().ok();
        },
        [&] { return owner->Commit().ok(); });
    ASSERT_TRUE(child.first_ok());
    auto other = Open();
    ASSERT_NE(other, nullptr);
    ASSERT_TRUE(LastTrial().has_value());
    EXPECT_EQ(LastTrial()->outcome, TrialOutcome::kOnTrial) << "recovery ended a live trial";
    EXPECT_TRUE(FileExists(store_dir() + "/slots/b/hypervisor/bin/hvmm"));
    EXPECT_EQ(child.Finish(), 0) << "the owner could not pass its trial";
    ASSERT_TRUE(other->Reload().ok());
    EXPECT_EQ(other->committed()->version, V("0.3.0"));
    EXPECT_EQ(other->floor(), V("0.2.0"));
    EXPECT_EQ(LastTrial()->outcome, TrialOutcome::kPassed);
}

// A trial passed but cut between the switch of `current` and the journal's
// committed row: recovery finishes the commit and the trial passes with it.
TEST_F(ReleaseTrialTest, APassCutAfterTheSwitchIsFinishedByRecovery) {
    ASSERT_NE(OpenWithTwoReleases(), nullptr);
    ASSERT_NO_FATAL_FAILURE(PassTrialKilledAfter(release_step::kSwitched));
    auto store = Open();
    ASSERT_NE(store, nullptr);
    EXPECT_EQ(CurrentHvmm(), "hvmm 0.3.0\n");
    EXPECT_EQ(store->floor(), V("0.2.0"));
    EXPECT_EQ(LastTrial()->outcome, TrialOutcome::kPassed);
}

// A successor whose predecessor died inside the commit of its trial: its
// store, open all along, finishes that commit by RecoverInterrupted.
TEST_F(ReleaseTrialTest, AnOpenStoreRecoversAPredecessorsInterruptedPass) {
    ASSERT_NE(OpenWithTwoReleases(), nullptr);
    auto successor = Open();  // open before the predecessor's commit
    ASSERT_NE(successor, nullptr);
    ASSERT_NO_FATAL_FAILURE(PassTrialKilledAfter(release_step::kCommitting));
    ASSERT_TRUE(successor->RecoverInterrupted().ok());
    ASSERT_TRUE(successor->committed().has_value());
    EXPECT_EQ(successor->committed()->version, V("0.3.0"));
    EXPECT_EQ(CurrentHvmm(), "hvmm 0.3.0\n");
    EXPECT_EQ(LastTrial()->outcome, TrialOutcome::kPassed);
}

TEST_F(ReleaseTrialTest, OutcomesHaveTheirJournalNames) {
    EXPECT_EQ(TrialOutcomeName(TrialOutcome::kOnTrial), "on-trial");
    EXPECT_EQ(TrialOutcomeName(TrialOutcome::kPassed), "passed");
    EXPECT_EQ(TrialOutcomeName(TrialOutcome::kFailed), "failed");
}

}  // namespace
}  // namespace hvkit::hvmm
