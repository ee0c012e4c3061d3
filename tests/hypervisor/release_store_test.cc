// The host's A/B release store with real packages, files and SQLite: stage,
// commit, abort, the release keys, the anti-rollback floor, and crashes at
// every step (a child process _exit()s right after the step; the parent opens
// the store and must find the old or the new release, never a mix).
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "release_fixture.h"
#include "update/release_store.h"

namespace hvkit::hvmm {
namespace {

bool FileExists(const std::string& path) {
    return access(path.c_str(), F_OK) == 0;
}

using testing::V;

class ReleaseStoreTest : public testing::ReleaseFixture {
  protected:
    std::unique_ptr<ReleaseStore> Open(ReleaseStoreOptions options = {}) {
        options.running_version = V("0.1.0");
        auto store = ReleaseStore::Open(store_dir(), std::move(options));
        EXPECT_TRUE(store.ok()) << store.status().message();
        return store.ok() ? std::move(*store) : nullptr;
    }

    // Runs (body) in a child that _exit()s right after step (crash_at).
    void CrashAt(const std::string& crash_at, const std::function<void(ReleaseStore&)>& body) {
        pid_t pid = fork();
        ASSERT_GE(pid, 0);
        if (pid == 0) {
            ReleaseStoreOptions options;
            options.running_version = V("0.1.0");
            options.after_step = [&](std::string_view step) {
                if (step == crash_at) _exit(42);
            };
            auto store = ReleaseStore::Open(store_dir(), options);
            if (!store.ok()) _exit(1);
            body(**store);
            _exit(0);
        }
        int status = 0;
        waitpid(pid, &status, 0);
        ASSERT_TRUE(WIFEXITED(status));
        ASSERT_EQ(WEXITSTATUS(status), 42) << "the child never reached step " << crash_at;
    }
};

TEST_F(ReleaseStoreTest, StageAndCommitSwitchesCurrentAndRaisesTheFloor) {
    auto store = Open();
    ASSERT_NE(store, nullptr);
    EXPECT_FALSE(store->committed().has_value());
    EXPECT_EQ(store->floor(), V("0.1.0"));
    auto staged = store->Stage(Package("0.2.0"));
    ASSERT_TRUE(staged.ok()) << staged.status().message();
    EXPECT_EQ(staged->release.slot, 'a');
    EXPECT_EQ(CurrentHvmm(), "") << "nothing is committed before Commit";
    ASSERT_TRUE(store->Commit().ok());
    EXPECT_EQ(CurrentHvmm(), "hvmm 0.2.0\n");
    EXPECT_EQ(store->floor(), V("0.1.0")) << "the floor is the release a commit replaced";
    EXPECT_FALSE(FileExists(store_dir() + "/current/guest/bin/agent"))
        << "hvmm installs only hypervisor files";

    auto next = store->Stage(Package("0.3.0"));
    ASSERT_TRUE(next.ok()) << next.status().message();
    EXPECT_EQ(next->release.slot, 'b');
    ASSERT_TRUE(store->Commit().ok());
    EXPECT_EQ(CurrentHvmm(), "hvmm 0.3.0\n");

    // A new process sees the same, and so does a peek without the keys.
    auto peek = ReleaseStore::Peek(store_dir());
    ASSERT_TRUE(peek.ok() && peek->has_value());
    EXPECT_EQ((*peek)->version, V("0.3.0"));
    EXPECT_FALSE(ReleaseStore::Peek(store_dir() + "/missing")->has_value());
    store.reset();
    auto reopened = Open();
    ASSERT_NE(reopened, nullptr);
    ASSERT_TRUE(reopened->committed().has_value());
    EXPECT_EQ(reopened->committed()->version, V("0.3.0"));
    EXPECT_EQ(reopened->committed()->slot, 'b');
    EXPECT_EQ(reopened->floor(), V("0.2.0"));
}

TEST_F(ReleaseStoreTest, RefusalsChangeNothing) {
    auto store = Open();
    ASSERT_NE(store, nullptr);
    ASSERT_TRUE(store->Stage(Package("0.2.0")).ok());
    ASSERT_TRUE(store->Commit().ok());

    auto unknown_key = store->Stage(Package("0.4.0", &stranger_));
    ASSERT_FALSE(unknown_key.ok());
    EXPECT_EQ(unknown_key.status().code(), ErrorCode::kBadSignature)
        << unknown_key.status().message();

    auto downgrade = store->Stage(Package("0.1.5"));
    ASSERT_FALSE(downgrade.ok());
    EXPECT_EQ(downgrade.status().code(), ErrorCode::kRollback) << downgrade.status().message();

    auto same = store->Stage(Package("0.2.0"));
    EXPECT_FALSE(same.ok()) << "a reinstall of the committed version";

    auto needs_newer = store->Stage(Package("0.5.0", nullptr, "0.3.0"));
    ASSERT_FALSE(needs_newer.ok());
    EXPECT_EQ(needs_newer.status().code(), ErrorCode::kConflict) << needs_newer.status().message();

    EXPECT_EQ(CurrentHvmm(), "hvmm 0.2.0\n");
    EXPECT_EQ(store->floor(), V("0.1.0"));
    EXPECT_FALSE(store->staged().has_value());
    EXPECT_FALSE(FileExists(store_dir() + "/slots/.incoming"));
}

TEST_F(ReleaseStoreTest, OneTransactionAtATimeAndAbortEmptiesTheSlot) {
    auto store = Open();
    ASSERT_NE(store, nullptr);
    ASSERT_TRUE(store->Stage(Package("0.2.0")).ok());
    auto second = store->Stage(Package("0.3.0"));
    ASSERT_FALSE(second.ok());
    EXPECT_EQ(second.status().code(), ErrorCode::kConflict);
    ASSERT_TRUE(store->Abort().ok());
    EXPECT_FALSE(FileExists(store->SlotPath('a')));
    EXPECT_FALSE(store->Commit().ok()) << "nothing staged after the abort";
    EXPECT_FALSE(store->committed().has_value());
}

TEST_F(ReleaseStoreTest, RefusesToOpenWithoutReleaseKeys) {
    ASSERT_EQ(unlink((store_dir() + "/trust.json").c_str()), 0);
    auto store = ReleaseStore::Open(store_dir(), {});
    ASSERT_FALSE(store.ok());
    EXPECT_NE(store.status().message().find("hvpkg trust"), std::string::npos)
        << store.status().message();
}

// Crashes: before the commit decision the old release stays; from
// "committing" on, the next Open finishes the switch.
TEST_F(ReleaseStoreTest, ACrashAtAnyStepLeavesTheOldOrTheNewRelease) {
    std::string first = Package("0.2.0"), next = Package("0.3.0");
    std::string trust = *ReadFile(store_dir() + "/trust.json", 1 << 20);
    struct Case {
        const char* step;
        const char* version;  // what must be committed after recovery
    };
    for (Case c : {Case{"staging", "0.2.0"}, Case{"extracted", "0.2.0"}, Case{"staged", "0.2.0"},
                   Case{"committing", "0.3.0"}, Case{"switched", "0.3.0"}}) {
        SCOPED_TRACE(c.step);
        ASSERT_TRUE(RemoveTree(store_dir()).ok());
        ASSERT_TRUE(MakeDirectories(store_dir()).ok());
        hvkit::testing::WriteTestFile(store_dir() + "/trust.json", trust);
        {
            auto store = Open();
            ASSERT_TRUE(store->Stage(first).ok());
            ASSERT_TRUE(store->Commit().ok());
        }
        CrashAt(c.step, [&](ReleaseStore& s) {
            if (s.Stage(next).ok()) (void)s.Commit();
        });
        auto store = Open();
        ASSERT_NE(store, nullptr);
        EXPECT_EQ(CurrentHvmm(), std::string("hvmm ") + c.version + "\n");
        ASSERT_TRUE(store->committed().has_value());
        EXPECT_EQ(store->committed()->version, V(c.version));
        EXPECT_EQ(store->floor(), V(c.version[2] == '3' ? "0.2.0" : "0.1.0"));
        EXPECT_FALSE(store->staged().has_value()) << "an interrupted session expires";
        EXPECT_FALSE(FileExists(store_dir() + "/slots/.incoming"));
        EXPECT_FALSE(FileExists(store_dir() + "/current.new"));
    }
}

TEST_F(ReleaseStoreTest, RollbackGoesOneStepBackAndNoFurther) {
    auto store = Open();
    ASSERT_NE(store, nullptr);
    EXPECT_FALSE(store->Rollback().ok()) << "nothing committed";
    ASSERT_TRUE(store->Stage(Package("0.2.0")).ok());
    ASSERT_TRUE(store->Commit().ok());
    EXPECT_FALSE(store->Rollback().ok()) << "slot b holds no earlier release";
    ASSERT_TRUE(store->Stage(Package("0.3.0")).ok());
    ASSERT_TRUE(store->Commit().ok());
    auto back = store->Rollback();
    ASSERT_TRUE(back.ok()) << back.status().message();
    EXPECT_EQ(back->version, V("0.2.0"));
    EXPECT_EQ(CurrentHvmm(), "hvmm 0.2.0\n");
    EXPECT_EQ(store->floor(), V("0.2.0"));
    auto again = store->Rollback();
    ASSERT_FALSE(again.ok()) << "the other slot now holds the newer 0.3.0";
    EXPECT_EQ(again.status().code(), ErrorCode::kRollback);
    EXPECT_FALSE(store->Stage(Package("0.1.5")).ok()) << "below the floor";
    // Forward again: a newer release replaces 0.3.0 in slot b.
    ASSERT_TRUE(store->Stage(Package("0.4.0")).ok());
    ASSERT_TRUE(store->Commit().ok());
    EXPECT_EQ(CurrentHvmm(), "hvmm 0.4.0\n");
    EXPECT_EQ(store->floor(), V("0.2.0"));
}

TEST_F(ReleaseStoreTest, ARollbackInterruptedAfterItsDecisionIsFinished) {
    {
        auto store = Open();
        ASSERT_TRUE(store->Stage(Package("0.2.0")).ok());
        ASSERT_TRUE(store->Commit().ok());
        ASSERT_TRUE(store->Stage(Package("0.3.0")).ok());
        ASSERT_TRUE(store->Commit().ok());
    }
    CrashAt("committing", [](ReleaseStore& s) { (void)s.Rollback(); });
    auto store = Open();
    ASSERT_NE(store, nullptr);
    EXPECT_EQ(CurrentHvmm(), "hvmm 0.2.0\n");
    EXPECT_EQ(store->committed()->version, V("0.2.0"));
    EXPECT_EQ(store->floor(), V("0.2.0")) << "a rollback does not move the floor";
}

TEST_F(ReleaseStoreTest, AfterACrashANewApplyCompletes) {
    {
        auto store = Open();
        ASSERT_TRUE(store->Stage(Package("0.2.0")).ok());
        ASSERT_TRUE(store->Commit().ok());
    }
    std::string next = Package("0.3.0");
    CrashAt("extracted", [&](ReleaseStore& s) { (void)s.Stage(next); });
    auto store = Open();
    ASSERT_NE(store, nullptr);
    ASSERT_TRUE(store->Stage(next).ok());
    ASSERT_TRUE(store->Commit().ok());
    EXPECT_EQ(CurrentHvmm(), "hvmm 0.3.0\n");
}

// HVMM_TEST_CRASH_AFTER (the system scenarios' way to kill hvmm inside its
// commit): the hook SIGKILLs the process after the named step, and only
// there; an unknown step is refused naming the variable.
TEST_F(ReleaseStoreTest, TheCrashHookKillsAfterTheNamedStepOnly) {
    setenv(kCrashAfterVariable, "committing", 1);
    auto hook = CrashHookFromEnvironment();
    unsetenv(kCrashAfterVariable);
    ASSERT_TRUE(hook.ok()) << hook.status().message();
    ASSERT_TRUE(*hook);
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
        ReleaseStoreOptions options;
        options.running_version = V("0.1.0");
        options.after_step = *hook;
        auto store = ReleaseStore::Open(store_dir(), options);
        if (!store.ok() || !(*store)->Stage(Package("0.2.0")).ok()) _exit(1);
        (void)(*store)->Commit();
        _exit(0);
    }
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
        << "the child was not killed (status " << status << ")";
    auto store = Open();
    ASSERT_NE(store, nullptr);
    ASSERT_TRUE(store->committed().has_value()) << "a journaled commit is rolled forward";
    EXPECT_EQ(store->committed()->version, V("0.2.0"));

    setenv(kCrashAfterVariable, "halfway", 1);
    auto bad = CrashHookFromEnvironment();
    unsetenv(kCrashAfterVariable);
    ASSERT_FALSE(bad.ok());
    EXPECT_NE(bad.status().message().find("HVMM_TEST_CRASH_AFTER=halfway"), std::string::npos)
        << bad.status().message();
    EXPECT_TRUE(CrashHookFromEnvironment().ok()) << "unset: no hook";
}

}  // namespace
}  // namespace hvkit::hvmm

namespace hvkit::hvmm {
namespace {

// A journal written by an hvmm before the shared vocabulary (schema 0:
// "aborted" for every transaction that did not commit, "update" for apply)
// opens in today's words, and its committed release stays the current one.
TEST_F(ReleaseStoreTest, ASchemaZeroJournalIsMigratedToTheSharedVocabulary) {
    {
        auto db = Database::Open(store_dir() + "/journal.sqlite");
        ASSERT_TRUE(db.ok());
        ASSERT_TRUE((*db)
                        ->Exec("CREATE TABLE transactions(id INTEGER PRIMARY KEY AUTOINCREMENT, "
                               "version TEXT NOT NULL, slot TEXT NOT NULL CHECK (slot IN ('a', "
                               "'b')), state TEXT NOT NULL CHECK (state IN ('staging', 'staged', "
                               "'committing', 'committed', 'aborted')), signers TEXT NOT NULL "
                               "DEFAULT '', kind TEXT NOT NULL DEFAULT 'update' CHECK (kind IN "
                               "('update', 'rollback')), floor_after TEXT NOT NULL DEFAULT '', "
                               "detail TEXT NOT NULL DEFAULT '', started_at INTEGER NOT NULL, "
                               "updated_at INTEGER NOT NULL);"
                               "CREATE TABLE floor(id INTEGER PRIMARY KEY CHECK (id = 1), "
                               "version TEXT NOT NULL);"
                               "INSERT INTO floor VALUES (1, '0.1.0');"
                               "INSERT INTO transactions(version, slot, state, kind, detail, "
                               "started_at, updated_at) VALUES "
                               "('0.2.0', 'a', 'committed', 'update', '', 1, 1),"
                               "('0.3.0', 'b', 'aborted', 'update', 'interrupted while staging', "
                               "2, 2),"
                               "('0.3.0', 'b', 'aborted', 'update', 'aborted', 3, 3),"
                               "('0.4.0', 'b', 'aborted', 'update', 'signature: 0 valid', 4, 4);")
                        .ok());
    }
    ASSERT_EQ(symlink("slots/a", (store_dir() + "/current").c_str()), 0);
    ASSERT_TRUE(MakeDirectories(store_dir() + "/slots/a").ok());
    auto store = Open();
    ASSERT_NE(store, nullptr);
    ASSERT_TRUE(store->committed().has_value());
    EXPECT_EQ(store->committed()->version, V("0.2.0"));
    auto db = Database::Open(store_dir() + "/journal.sqlite");
    ASSERT_TRUE(db.ok());
    auto st = (*db)->Prepare("SELECT state, kind FROM transactions ORDER BY id");
    ASSERT_TRUE(st.ok());
    std::vector<std::string> rows;
    while (*st->Step()) rows.push_back(st->ColumnText(0) + "/" + st->ColumnText(1));
    EXPECT_EQ(rows, (std::vector<std::string>{"committed/apply", "undone/apply", "undone/apply",
                                              "failed/apply"}));
    auto version = (*db)->Prepare("PRAGMA user_version");
    ASSERT_TRUE(version.ok() && *version->Step());
    EXPECT_EQ(version->ColumnInt(0), 1);
    // A new transaction is written in the new words.
    ASSERT_TRUE(store->Stage(Package("0.3.0")).ok());
    ASSERT_TRUE(store->Abort().ok());
}

TEST_F(ReleaseStoreTest, AJournalFromANewerHvmmIsRefusedNamingTheVersions) {
    {
        auto db = Database::Open(store_dir() + "/journal.sqlite");
        ASSERT_TRUE(db.ok());
        ASSERT_TRUE((*db)->Exec("PRAGMA user_version = 7").ok());
    }
    ReleaseStoreOptions options;
    options.running_version = V("0.1.0");
    auto store = ReleaseStore::Open(store_dir(), options);
    ASSERT_FALSE(store.ok());
    EXPECT_EQ(store.status().code(), ErrorCode::kConflict);
    EXPECT_NE(store.status().message().find("schema version 7"), std::string::npos)
        << store.status().message();
}

}  // namespace
}  // namespace hvkit::hvmm
