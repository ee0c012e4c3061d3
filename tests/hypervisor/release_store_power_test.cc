// The release store under the fault file system (tests/support/fault_fs.h):
// its stage, commit, rollback and recovery with the power cut at every
// call, and with ENOSPC or EIO at every call. After each, a store opened on
// the real disk (recovering what was in flight) runs the old release or the
// new one, whole, never a mix, and the new one whenever the operation
// reported it committed. Where release_store_test.cc stops a process after
// each named step, these cut between any two calls, and drop what was not
// synced.
#include <gtest/gtest.h>

#include <filesystem>

#include "fault_loop.h"
#include "hvkit/store/sqlite.h"
#include "release_fixture.h"
#include "update/release_store.h"

namespace hvkit::hvmm {
namespace {

using hvkit::testing::FaultFileSystem;
using hvkit::testing::FaultScenario;
using testing::V;

class ReleaseStorePowerTest : public testing::ReleaseFixture {
  protected:
    void SetUp() override {
        ReleaseFixture::SetUp();
        next_ = Package("0.3.0");
    }

    ReleaseStoreOptions Options(FileSystem& fs = RealFileSystem()) {
        ReleaseStoreOptions options;
        options.running_version = V("0.1.0");
        options.file_system = &fs;
        return options;
    }

    // Saves the store directory as it is now, for Restore() before each run.
    void SaveTemplate() {
        std::filesystem::remove_all(template_dir());
        std::filesystem::copy(store_dir(), template_dir(),
                              std::filesystem::copy_options::recursive |
                                  std::filesystem::copy_options::copy_symlinks);
    }
    void Restore() {
        ASSERT_TRUE(RemoveTree(store_dir()).ok());
        std::filesystem::copy(template_dir(), store_dir(),
                              std::filesystem::copy_options::recursive |
                                  std::filesystem::copy_options::copy_symlinks);
    }
    std::string template_dir() const { return tmp_.Sub("template"); }

    // Commits the releases (versions) with the real file system.
    void Commit(std::initializer_list<const char*> versions) {
        auto store = ReleaseStore::Open(store_dir(), Options());
        ASSERT_TRUE(store.ok()) << store.status().message();
        for (const char* v : versions) {
            ASSERT_TRUE((*store)->Stage(Package(v)).ok()) << v;
            ASSERT_TRUE((*store)->Commit().ok()) << v;
        }
    }

    // After recovery on the real disk: the committed release is (before) or
    // (after), (after) when (done), and `current` serves that release's
    // files, whole; nothing staged, nothing half-made left.
    void Check(bool done, const char* before, const char* after) {
        auto store = ReleaseStore::Open(store_dir(), Options());
        ASSERT_TRUE(store.ok()) << "recovery failed: " << store.status().message();
        ASSERT_TRUE((*store)->committed().has_value());
        std::string version = (*store)->committed()->version.ToString();
        if (done) {
            EXPECT_EQ(version, after) << "reported done, lost at the power cut";
        } else {
            EXPECT_TRUE(version == before || version == after) << version;
        }
        EXPECT_EQ(CurrentHvmm(), "hvmm " + version + "\n") << "current serves another release";
        EXPECT_TRUE(PathExists(store_dir() + "/current/hypervisor/share/blob"))
            << "current serves half a release";
        EXPECT_FALSE((*store)->staged().has_value());
        for (const auto& e : std::filesystem::directory_iterator(store_dir() + "/slots")) {
            std::string name = e.path().filename();
            EXPECT_TRUE(name == "a" || name == "b") << "slots/" << name << " left behind";
        }
        EXPECT_FALSE(PathExists(store_dir() + "/current.new"));
        EXPECT_GE((*store)->floor(), V("0.1.0"));
        // No slot holds files the journal does not name (a release-sized
        // leftover, or worse, one a later rollback could mistake).
        auto journal = Database::Open(store_dir() + "/journal.sqlite");
        ASSERT_TRUE(journal.ok());
        for (char slot : {'a', 'b'}) {
            auto named = (*journal)->Prepare("SELECT 1 FROM slots WHERE slot = ?");
            ASSERT_TRUE(named.ok());
            named->Bind(1, std::string_view(&slot, 1));
            if (!*named->Step()) {
                EXPECT_FALSE(PathExists((*store)->SlotPath(slot)))
                    << "slot " << slot << " holds files the journal does not name";
            }
        }
    }

    // Staging and committing 0.3.0 over 0.2.0, or, when (both_slots_full),
    // 0.4.0 over 0.3.0 into the slot that holds 0.2.0.
    FaultScenario Apply(bool both_slots_full) {
        const char* before = both_slots_full ? "0.3.0" : "0.2.0";
        const char* after = both_slots_full ? "0.4.0" : "0.3.0";
        if (both_slots_full) {
            Commit({"0.2.0", "0.3.0"});
        } else {
            Commit({"0.2.0"});
        }
        SaveTemplate();
        std::string package = both_slots_full ? Package("0.4.0") : next_;
        std::string later = Package("0.9.0");
        FaultScenario s;
        s.root = store_dir();
        s.setup = [this] { Restore(); };
        s.operation = [this, package](FileSystem& fs) -> Status {
            HVKIT_ASSIGN_OR_RETURN(auto store, ReleaseStore::Open(store_dir(), Options(fs)));
            HVKIT_RETURN_IF_ERROR(store->Stage(package).status());
            return store->Commit();
        };
        s.check = [this, before, after, later](bool done) {
            Check(done, before, after);
            // And the store still takes the next release.
            auto store = ReleaseStore::Open(store_dir(), Options());
            ASSERT_TRUE(store.ok());
            auto staged = (*store)->Stage(later);
            ASSERT_TRUE(staged.ok()) << staged.status().message();
            EXPECT_TRUE((*store)->Commit().ok());
        };
        return s;
    }

    std::string next_;
};

TEST_F(ReleaseStorePowerTest, APowerCutAtAnyCallOfAnApplyLeavesTheOldOrTheNewRelease) {
    EXPECT_GT(hvkit::testing::CutPowerAtEveryCall(Apply(/*both_slots_full=*/false)), 30);
}

TEST_F(ReleaseStorePowerTest, APowerCutAtAnyCallOfAnApplyOverAnOccupiedSlotLeavesOneOrTheOther) {
    EXPECT_GT(hvkit::testing::CutPowerAtEveryCall(Apply(/*both_slots_full=*/true)), 30);
}

TEST_F(ReleaseStorePowerTest, ENOSPCAtAnyCallOfAnApplyIsAnErrorAndLosesNothing) {
    hvkit::testing::FailEveryCall(Apply(/*both_slots_full=*/true), ENOSPC);
}

TEST_F(ReleaseStorePowerTest, EIOAtAnyCallOfAnApplyIsAnErrorAndLosesNothing) {
    hvkit::testing::FailEveryCall(Apply(/*both_slots_full=*/true), EIO);
}

TEST_F(ReleaseStorePowerTest, APowerCutAtAnyCallOfAnAbortLeavesTheCommittedRelease) {
    Commit({"0.2.0"});
    SaveTemplate();
    FaultScenario s;
    s.root = store_dir();
    s.setup = [this] { Restore(); };
    s.operation = [this](FileSystem& fs) -> Status {
        HVKIT_ASSIGN_OR_RETURN(auto store, ReleaseStore::Open(store_dir(), Options(fs)));
        HVKIT_RETURN_IF_ERROR(store->Stage(next_).status());
        return store->Abort();
    };
    s.check = [this](bool) { Check(false, "0.2.0", "0.2.0"); };
    EXPECT_GT(hvkit::testing::CutPowerAtEveryCall(s), 30);
    hvkit::testing::FailEveryCall(s, ENOSPC);
}

TEST_F(ReleaseStorePowerTest, APowerCutAtAnyCallOfARollbackLeavesOneReleaseOrTheOther) {
    Commit({"0.2.0", "0.3.0"});
    SaveTemplate();
    FaultScenario s;
    s.root = store_dir();
    s.setup = [this] { Restore(); };
    s.operation = [this](FileSystem& fs) -> Status {
        HVKIT_ASSIGN_OR_RETURN(auto store, ReleaseStore::Open(store_dir(), Options(fs)));
        return store->Rollback().status();
    };
    s.check = [this](bool done) { Check(done, "0.3.0", "0.2.0"); };
    EXPECT_GT(hvkit::testing::CutPowerAtEveryCall(s), 5);
    hvkit::testing::FailEveryCall(s, EIO);
}

// Recovery, cut in its turn: a store left with the power gone right after
// step (step) of an apply is opened (recovering) with the power cut at
// every call of the recovery; the next recovery must still finish the job.
TEST_F(ReleaseStorePowerTest, APowerCutDuringRecoveryIsRecoveredByTheNextStart) {
    struct Case {
        std::string_view step;
        const char* recovered;  // the release committed once recovery is done
    };
    for (Case c :
         {Case{release_step::kStaging, "0.2.0"}, Case{release_step::kSlotEmptied, "0.2.0"},
          Case{release_step::kExtracted, "0.2.0"}, Case{release_step::kStaged, "0.2.0"},
          Case{release_step::kCommitting, "0.3.0"}, Case{release_step::kSwitched, "0.3.0"}}) {
        SCOPED_TRACE(std::string("power gone after ") + std::string(c.step));
        ASSERT_TRUE(RemoveTree(store_dir()).ok());
        ASSERT_TRUE(RemoveTree(template_dir()).ok());
        ASSERT_TRUE(MakeDirectories(store_dir()).ok());
        SetUp();
        Commit({"0.2.0"});
        {
            FaultFileSystem fs(store_dir());
            ReleaseStoreOptions options = Options(fs);
            options.after_step = [&](std::string_view step) {
                if (step == c.step) fs.CutPowerAtCall(fs.calls() + 1);
            };
            {
                auto store = ReleaseStore::Open(store_dir(), options);
                ASSERT_TRUE(store.ok()) << store.status().message();
                if ((*store)->Stage(next_).ok()) (void)(*store)->Commit();
            }
            ASSERT_TRUE(fs.powered_off()) << "the apply never reached " << c.step;
            fs.PowerCut();
        }
        SaveTemplate();
        FaultScenario s;
        s.root = store_dir();
        s.setup = [this] { Restore(); };
        s.operation = [this](FileSystem& fs) {
            return ReleaseStore::Open(store_dir(), Options(fs)).status();
        };
        s.check = [&](bool) { Check(true, c.recovered, c.recovered); };
        hvkit::testing::CutPowerAtEveryCall(s);
        if (HasFatalFailure()) return;
    }
}

}  // namespace
}  // namespace hvkit::hvmm
