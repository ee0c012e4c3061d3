// SQLite (hvkit::Database, WAL, synchronous=FULL) through the FileSystem
// VFS under the fault file system: a power cut at every call of a
// transaction, and ENOSPC or EIO at every call. After recovery the database
// passes its integrity check and holds the transaction whole or not at
// all, and whole whenever the commit was reported. Both journals
// (hvmm's journal.sqlite, the agent's agent.sqlite) are Databases.
#include <gtest/gtest.h>

#include "fault_loop.h"
#include "hvkit/fs.h"
#include "hvkit/store/sqlite.h"
#include "temp_dir.h"

namespace hvkit {
namespace {

using testing::FaultScenario;

class DatabaseCrashTest : public ::testing::Test {
  protected:
    std::string root() const { return tmp_.Sub("root"); }
    std::string path() const { return root() + "/journal.sqlite"; }

    // A database with one committed row, k=a v=old.
    void MakeOneRow() {
        ASSERT_TRUE(RemoveTree(root()).ok());
        ASSERT_TRUE(MakeDirectories(root()).ok());
        auto db = Database::Open(path());
        ASSERT_TRUE(db.ok()) << db.status().message();
        ASSERT_TRUE((*db)->Exec("CREATE TABLE t(k TEXT PRIMARY KEY, v TEXT NOT NULL)").ok());
        ASSERT_TRUE((*db)->Exec("INSERT INTO t VALUES ('a', 'old')").ok());
    }

    // The rows after recovery, "a=old" or "a=new,b=new"; checks integrity.
    std::string Rows() {
        auto db = Database::Open(path());
        EXPECT_TRUE(db.ok()) << db.status().message();
        if (!db.ok()) return "(cannot open)";
        auto check = (*db)->Prepare("PRAGMA integrity_check");
        EXPECT_TRUE(check.ok() && *check->Step()) << "integrity check did not run";
        if (check.ok()) {
            EXPECT_EQ(check->ColumnText(0), "ok");
        }
        auto rows = (*db)->Prepare("SELECT k, v FROM t ORDER BY k");
        if (!rows.ok()) return "(" + rows.status().message() + ")";
        std::string out;
        while (true) {
            auto row = rows->Step();
            if (!row.ok()) return "(" + row.status().message() + ")";
            if (!*row) break;
            out += (out.empty() ? "" : ",") + rows->ColumnText(0) + "=" + rows->ColumnText(1);
        }
        return out;
    }

    FaultScenario Scenario() {
        FaultScenario s;
        s.root = root();
        s.setup = [this] { MakeOneRow(); };
        s.operation = [this](FileSystem& fs) -> Status {
            HVKIT_ASSIGN_OR_RETURN(auto db, Database::Open(path(), fs));
            return db->Transaction([&]() -> Status {
                HVKIT_RETURN_IF_ERROR(db->Exec("UPDATE t SET v = 'new' WHERE k = 'a'"));
                return db->Exec("INSERT INTO t VALUES ('b', 'new')");
            });
        };
        s.check = [this](bool done) {
            std::string rows = Rows();
            if (done) {
                EXPECT_EQ(rows, "a=new,b=new") << "reported committed, lost at the power cut";
            } else {
                EXPECT_TRUE(rows == "a=old" || rows == "a=new,b=new") << rows;
            }
        };
        return s;
    }

    hvkit::testing::TempDir tmp_;
};

TEST_F(DatabaseCrashTest, APowerCutAtAnyCallKeepsACommittedTransactionWholeOrNone) {
    EXPECT_GT(testing::CutPowerAtEveryCall(Scenario()), 3);
}

TEST_F(DatabaseCrashTest, ENOSPCOrEIOAtAnyCallIsAnErrorAndLosesNothing) {
    testing::FailEveryCall(Scenario(), ENOSPC);
    testing::FailEveryCall(Scenario(), EIO);
}

// A database created under the fault file system: its first commit must
// make the file itself durable too.
TEST_F(DatabaseCrashTest, ANewDatabaseSurvivesAPowerCutOnceItsFirstCommitReturns) {
    FaultScenario s;
    s.root = root();
    s.setup = [this] {
        ASSERT_TRUE(RemoveTree(root()).ok());
        ASSERT_TRUE(MakeDirectories(root()).ok());
    };
    s.operation = [this](FileSystem& fs) -> Status {
        HVKIT_ASSIGN_OR_RETURN(auto db, Database::Open(path(), fs));
        HVKIT_RETURN_IF_ERROR(db->Exec("CREATE TABLE t(k TEXT PRIMARY KEY, v TEXT NOT NULL)"));
        return db->Exec("INSERT INTO t VALUES ('a', 'old')");
    };
    s.check = [this](bool done) {
        if (done) {
            EXPECT_EQ(Rows(), "a=old") << "reported committed, lost at the power cut";
        }
    };
    testing::CutPowerAtEveryCall(s);
}

}  // namespace
}  // namespace hvkit
