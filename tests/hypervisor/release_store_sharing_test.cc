// Several hvmm processes on one state directory (issue 13, items 1-3): the
// store lock and the stage owner's lock, state re-read under the lock, the
// release keys read by every transaction, and recovery at every crash point
// with both slots occupied. Each "other hvmm" is a real forked process.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <functional>

#include "other_hvmm.h"
#include "release_fixture.h"
#include "update/release_store.h"
#include "update/update_service.h"

namespace hvkit::hvmm {
namespace {

using testing::OtherHvmm;
using testing::V;

class ReleaseStoreSharingTest : public testing::ReleaseFixture {
  protected:
    std::unique_ptr<ReleaseStore> Open() {
        ReleaseStoreOptions options;
        options.running_version = V("0.1.0");
        auto store = ReleaseStore::Open(store_dir(), options);
        EXPECT_TRUE(store.ok()) << store.status().message();
        return store.ok() ? std::move(*store) : nullptr;
    }
    bool FileExists(const std::string& path) { return access(path.c_str(), F_OK) == 0; }
};

// Item 1: another hvmm's start (its recovery) must not undo a live hvmm's
// staged release, nor stage beside it; the owner then commits.
TEST_F(ReleaseStoreSharingTest, ALiveHvmmsStagedReleaseSurvivesAnotherHvmmsStart) {
    std::string pkg = Package("0.2.0"), other = Package("0.3.0");
    std::unique_ptr<ReleaseStore> child_store;
    OtherHvmm child(
        [&] {
            child_store = Open();
            return child_store && child_store->Stage(pkg).ok();
        },
        [&] { return child_store->Commit().ok(); });
    ASSERT_TRUE(child.first_ok());
    auto mine = Open();  // recovery runs here, under the lock
    ASSERT_NE(mine, nullptr);
    EXPECT_TRUE(FileExists(store_dir() + "/slots/a/hypervisor/bin/hvmm"))
        << "recovery emptied a live hvmm's staged slot";
    auto staged = mine->Stage(other);
    ASSERT_FALSE(staged.ok());
    EXPECT_EQ(staged.status().code(), ErrorCode::kConflict);
    EXPECT_NE(staged.status().message().find("another hvmm"), std::string::npos)
        << staged.status().message();
    EXPECT_EQ(mine->Rollback().status().code(), ErrorCode::kConflict);
    EXPECT_EQ(child.Finish(), 0) << "the owner could not commit its staged release";
    ASSERT_TRUE(mine->Reload().ok());
    ASSERT_TRUE(mine->committed().has_value());
    EXPECT_EQ(mine->committed()->version, V("0.2.0")) << "the other hvmm's commit is seen";
    EXPECT_EQ(CurrentHvmm(), "hvmm 0.2.0\n");
}

// Item 1: an hvmm opened before another one committed stages into the free
// slot (never the live one) and checks the floor as it is now.
TEST_F(ReleaseStoreSharingTest, StaleStateIsReReadSoNoStageHitsTheLiveSlotOrTheFloor) {
    std::string v2 = Package("0.2.0"), v3 = Package("0.3.0"), v4 = Package("0.4.0");
    auto stale = Open();  // sees nothing committed
    ASSERT_NE(stale, nullptr);
    OtherHvmm other(
        [&] {
            auto s = Open();
            return s && s->Stage(v2).ok() && s->Commit().ok() && s->Stage(v3).ok() &&
                   s->Commit().ok();
        },
        [] { return true; });
    ASSERT_TRUE(other.first_ok());
    ASSERT_EQ(other.Finish(), 0);
    // The floor is 0.2.0 now and 0.3.0 runs from slot b.
    auto below = stale->Stage(v2);
    ASSERT_FALSE(below.ok()) << "a downgrade below the floor another hvmm raised";
    EXPECT_EQ(below.status().code(), ErrorCode::kRollback) << below.status().message();
    auto staged = stale->Stage(v4);
    ASSERT_TRUE(staged.ok()) << staged.status().message();
    EXPECT_EQ(staged->release.slot, 'a') << "the live slot is b";
    EXPECT_EQ(CurrentHvmm(), "hvmm 0.3.0\n") << "the running release was not touched";
    ASSERT_TRUE(stale->Commit().ok());
    EXPECT_EQ(CurrentHvmm(), "hvmm 0.4.0\n");
    EXPECT_EQ(stale->floor(), V("0.3.0"));
}

// Item 2: revoking a key in trust.json takes effect for the next transaction
// of a store (and an update service) already open.
TEST_F(ReleaseStoreSharingTest, ARevokedReleaseKeyIsRefusedByTheNextTransaction) {
    std::string v2 = Package("0.2.0"), v3 = Package("0.3.0");
    auto store = Open();
    ASSERT_NE(store, nullptr);
    ASSERT_TRUE(store->Stage(v2).ok());
    ASSERT_TRUE(store->Commit().ok());
    auto only_stranger = PackageTrustStore::Create({stranger_.public_key()}, 1);
    ASSERT_TRUE(only_stranger.ok());
    ASSERT_TRUE(only_stranger->Save(store_dir() + "/trust.json").ok());
    auto staged = store->Stage(v3);
    ASSERT_FALSE(staged.ok()) << "staged with a revoked key";
    EXPECT_EQ(staged.status().code(), ErrorCode::kBadSignature) << staged.status().message();
    EXPECT_EQ(CurrentHvmm(), "hvmm 0.2.0\n");
    // The stranger's key is trusted now.
    EXPECT_TRUE(store->Stage(Package("0.3.0", &stranger_)).ok());
}

// Item 3: a crash at each point of staging a third release (both slots
// occupied: 0.2.0 in a, 0.3.0 in b and current) leaves 0.3.0 running, and
// slot a either still 0.2.0 (a rollback runs it) or empty (a rollback is
// refused): never 0.4.0 under 0.2.0's name.
TEST_F(ReleaseStoreSharingTest, EveryCrashWhileStagingAThirdReleaseRecoversWithHonestSlots) {
    std::string v2 = Package("0.2.0"), v3 = Package("0.3.0"), v4 = Package("0.4.0");
    std::string trust = *ReadFile(store_dir() + "/trust.json", 1 << 20);
    struct Case {
        const char* step;
        bool slot_a_keeps_0_2;
    };
    for (Case c : {Case{"staging", true}, Case{"slot-emptied", false}, Case{"extracted", false},
                   Case{"staged", false}}) {
        SCOPED_TRACE(c.step);
        ASSERT_TRUE(RemoveTree(store_dir()).ok());
        ASSERT_TRUE(MakeDirectories(store_dir()).ok());
        hvkit::testing::WriteTestFile(store_dir() + "/trust.json", trust);
        {
            auto s = Open();
            ASSERT_TRUE(s->Stage(v2).ok() && s->Commit().ok() && s->Stage(v3).ok() &&
                        s->Commit().ok());
        }
        std::string step = c.step;
        pid_t pid = fork();
        ASSERT_GE(pid, 0);
        if (pid == 0) {
            ReleaseStoreOptions options;
            options.running_version = V("0.1.0");
            options.after_step = [&](std::string_view done) {
                if (done != step) return;
                if (step == "staging") {
                    // Mid-extraction: part of the new release written.
                    (void)MakeDirectories(store_dir() + "/slots/.incoming/hypervisor/bin");
                    hvkit::testing::WriteTestFile(
                        store_dir() + "/slots/.incoming/hypervisor/bin/hvmm", "hvmm 0.4");
                }
                _exit(42);
            };
            auto s = ReleaseStore::Open(store_dir(), options);
            if (s.ok()) (void)(*s)->Stage(v4);
            _exit(0);
        }
        int status = 0;
        waitpid(pid, &status, 0);
        ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 42) << "never reached the step";
        auto store = Open();
        ASSERT_NE(store, nullptr);
        EXPECT_EQ(CurrentHvmm(), "hvmm 0.3.0\n");
        EXPECT_EQ(store->committed()->version, V("0.3.0"));
        EXPECT_FALSE(FileExists(store_dir() + "/slots/.incoming"));
        auto back = store->Rollback();
        if (c.slot_a_keeps_0_2) {
            ASSERT_TRUE(back.ok()) << back.status().message();
            EXPECT_EQ(CurrentHvmm(), "hvmm 0.2.0\n");
        } else {
            EXPECT_FALSE(back.ok()) << "rolled back into a slot the journal cannot name";
            EXPECT_FALSE(FileExists(store_dir() + "/slots/a")) << "the half-replaced slot stays";
            EXPECT_EQ(CurrentHvmm(), "hvmm 0.3.0\n");
        }
        // And the store goes on: 0.4.0 stages and commits.
        if (back.ok()) continue;
        ASSERT_TRUE(store->Stage(v4).ok());
        ASSERT_TRUE(store->Commit().ok());
        EXPECT_EQ(CurrentHvmm(), "hvmm 0.4.0\n");
    }
}

// Item 3: a commit cut between the new link and its rename leaves
// current.new; the next start removes it and `current` is untouched.
TEST_F(ReleaseStoreSharingTest, AStrayCurrentNewFromACutSwitchIsRemoved) {
    {
        auto s = Open();
        ASSERT_TRUE(s->Stage(Package("0.2.0")).ok() && s->Commit().ok());
    }
    ASSERT_EQ(symlink("slots/b", (store_dir() + "/current.new").c_str()), 0);
    auto store = Open();
    ASSERT_NE(store, nullptr);
    EXPECT_FALSE(FileExists(store_dir() + "/current.new"));
    EXPECT_EQ(CurrentHvmm(), "hvmm 0.2.0\n");
}

// The update service's package file is its own process's: a dead hvmm's is
// removed, a live one's is not.
TEST_F(ReleaseStoreSharingTest, EachHvmmHasItsOwnIncomingPackageFile) {
    hvkit::testing::WriteTestFile(store_dir() + "/incoming-999999999.hvpkg", "dead");
    hvkit::testing::WriteTestFile(store_dir() + "/incoming-1.hvpkg", "init lives");
    UpdateService service(Open());
    EXPECT_FALSE(FileExists(store_dir() + "/incoming-999999999.hvpkg"));
    EXPECT_TRUE(FileExists(store_dir() + "/incoming-1.hvpkg"));
}

}  // namespace
}  // namespace hvkit::hvmm
