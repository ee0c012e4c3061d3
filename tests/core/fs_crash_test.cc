// The fault file system itself, then hvkit/fs.h's durable writes under it:
// WriteFileAtomic, ReplaceSymlink and MakeDirectories, with the power cut at
// every call and ENOSPC or EIO at every call. After each, the disk holds the
// old state or the new one, and the new one whenever the call said it was done.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include "fault_fs.h"
#include "fault_loop.h"
#include "hvkit/fs.h"
#include "temp_dir.h"

namespace hvkit {
namespace {

using testing::FaultFileSystem;
using testing::FaultScenario;

// The file at (path), or "(none)".
std::string Contents(const std::string& path) {
    auto text = ReadFile(path, 1 << 20);
    return text.ok() ? *text : "(none)";
}

std::string LinkTarget(const std::string& link) {
    auto target = ReadSymlink(link);
    return target.ok() && *target ? **target : "(none)";
}

class FaultFileSystemTest : public ::testing::Test {
  protected:
    // A file created, written and, as asked, fsynced and its directory fsynced.
    void Create(FaultFileSystem& fs, const std::string& name, const std::string& text,
                bool sync_file, bool sync_dir) {
        std::string path = tmp_.Sub(name);
        UniqueFd fd(fs.OpenAt(AT_FDCWD, path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644));
        ASSERT_TRUE(fd.valid());
        ASSERT_EQ(fs.Write(fd.get(), text.data(), text.size()), ssize_t(text.size()));
        if (sync_file) {
            ASSERT_EQ(fs.Sync(fd.get()), 0);
        }
        if (sync_dir) {
            ASSERT_TRUE(SyncDirectory(tmp_.path(), fs).ok());
        }
    }
    hvkit::testing::TempDir tmp_;
};

TEST_F(FaultFileSystemTest, APowerCutKeepsOnlyWhatWasSynced) {
    FaultFileSystem fs(tmp_.path());
    Create(fs, "entry-only", "x", false, true);
    Create(fs, "both", "x", true, true);
    // After the last directory sync:
    Create(fs, "neither", "x", false, false);
    Create(fs, "data-only", "x", true, false);
    fs.PowerCut();
    EXPECT_EQ(Contents(tmp_.Sub("neither")), "(none)");
    EXPECT_EQ(Contents(tmp_.Sub("data-only")), "(none)") << "its directory entry was never synced";
    EXPECT_EQ(Contents(tmp_.Sub("entry-only")), "") << "the entry survives, the unsynced data not";
    EXPECT_EQ(Contents(tmp_.Sub("both")), "x");
}

TEST_F(FaultFileSystemTest, ARenameOrUnlinkIsUndoneUntilItsDirectoryIsSynced) {
    hvkit::testing::WriteTestFile(tmp_.Sub("old"), "old");
    hvkit::testing::WriteTestFile(tmp_.Sub("gone"), "gone");
    FaultFileSystem fs(tmp_.path());
    Create(fs, "new", "new", true, true);
    ASSERT_EQ(fs.RenameAt(AT_FDCWD, tmp_.Sub("new").c_str(), AT_FDCWD, tmp_.Sub("old").c_str()), 0);
    ASSERT_EQ(fs.UnlinkAt(AT_FDCWD, tmp_.Sub("gone").c_str()), 0);
    ASSERT_EQ(fs.SymlinkAt("old", AT_FDCWD, tmp_.Sub("link").c_str()), 0);
    fs.PowerCut();
    EXPECT_EQ(Contents(tmp_.Sub("old")), "old");
    EXPECT_EQ(Contents(tmp_.Sub("new")), "new");
    EXPECT_EQ(Contents(tmp_.Sub("gone")), "gone");
    EXPECT_EQ(LinkTarget(tmp_.Sub("link")), "(none)");

    ASSERT_EQ(fs.RenameAt(AT_FDCWD, tmp_.Sub("new").c_str(), AT_FDCWD, tmp_.Sub("old").c_str()), 0);
    ASSERT_EQ(fs.SymlinkAt("old", AT_FDCWD, tmp_.Sub("link").c_str()), 0);
    ASSERT_TRUE(SyncDirectory(tmp_.path(), fs).ok());
    fs.PowerCut();
    EXPECT_EQ(Contents(tmp_.Sub("old")), "new") << "the renamed file keeps its synced data";
    EXPECT_EQ(Contents(tmp_.Sub("new")), "(none)");
    EXPECT_EQ(LinkTarget(tmp_.Sub("link")), "old");
}

TEST_F(FaultFileSystemTest, AnInjectedErrorFailsOneCallAndChangesNothing) {
    FaultFileSystem fs(tmp_.path());
    fs.FailCall(2, ENOSPC, FaultFileSystem::Call::kMkdir);
    EXPECT_EQ(fs.MakeDirectoryAt(AT_FDCWD, tmp_.Sub("a").c_str(), 0755), 0);
    EXPECT_EQ(fs.MakeDirectoryAt(AT_FDCWD, tmp_.Sub("b").c_str(), 0755), -1);
    EXPECT_EQ(errno, ENOSPC);
    EXPECT_FALSE(PathExists(tmp_.Sub("b")));
    EXPECT_EQ(fs.MakeDirectoryAt(AT_FDCWD, tmp_.Sub("c").c_str(), 0755), 0);
    EXPECT_EQ(fs.calls(), 3);
    EXPECT_EQ(fs.Describe(2), "mkdir b");

    fs.CutPowerAtCall(4);
    EXPECT_EQ(fs.MakeDirectoryAt(AT_FDCWD, tmp_.Sub("d").c_str(), 0755), -1);
    EXPECT_EQ(errno, EIO);
    EXPECT_TRUE(fs.powered_off());
    EXPECT_FALSE(PathExists(tmp_.Sub("d"))) << "a machine without power writes nothing";
}

// Each durable write: old state "old", new state "new".
class DurableWriteTest : public ::testing::Test {
  protected:
    std::string root() const { return tmp_.Sub("root"); }
    std::string Path(const char* name) const { return root() + "/" + name; }
    void Reset() {
        ASSERT_TRUE(RemoveTree(root()).ok());
        ASSERT_TRUE(MakeDirectories(root()).ok());
    }
    hvkit::testing::TempDir tmp_;
};

TEST_F(DurableWriteTest, WriteFileAtomicLeavesTheOldOrTheNewFile) {
    for (bool existed : {true, false}) {
        SCOPED_TRACE(existed ? "replacing a file" : "creating a file");
        FaultScenario s;
        s.root = root();
        s.setup = [&] {
            Reset();
            if (existed) hvkit::testing::WriteTestFile(Path("state"), "old");
        };
        s.operation = [&](FileSystem& fs) {
            return WriteFileAtomic(Path("state"), "new", 0640, fs);
        };
        s.check = [&](bool done) {
            std::string now = Contents(Path("state"));
            if (done) {
                EXPECT_EQ(now, "new") << "reported written, lost at the power cut";
            } else {
                EXPECT_TRUE(now == "new" || now == (existed ? "old" : "(none)")) << now;
            }
        };
        EXPECT_GT(testing::CutPowerAtEveryCall(s), 4);
        testing::FailEveryCall(s, ENOSPC);
        testing::FailEveryCall(s, EIO);
    }
}

TEST_F(DurableWriteTest, AFailedWriteFileAtomicLeavesNoTemporaryFile) {
    Reset();
    hvkit::testing::WriteTestFile(Path("state"), "old");
    FaultFileSystem fs(root());
    fs.FailCall(1, ENOSPC, FaultFileSystem::Call::kWrite);
    Status st = WriteFileAtomic(Path("state"), "new", 0644, fs);
    ASSERT_FALSE(st.ok());
    EXPECT_NE(st.message().find("cannot write " + Path("state") + ".tmp."), std::string::npos)
        << st.message();
    EXPECT_NE(st.message().find("No space left on device"), std::string::npos) << st.message();
    EXPECT_EQ(Contents(Path("state")), "old");
    ASSERT_TRUE(RemoveTree(Path("state")).ok());
    EXPECT_EQ(rmdir(root().c_str()), 0) << "a temporary file was left behind";
}

TEST_F(DurableWriteTest, ReplaceSymlinkLeavesTheOldOrTheNewTargetNeverNone) {
    FaultScenario s;
    s.root = root();
    s.setup = [&] {
        Reset();
        ASSERT_TRUE(ReplaceSymlink(Path("current"), "old").ok());
    };
    s.operation = [&](FileSystem& fs) { return ReplaceSymlink(Path("current"), "new", fs); };
    s.check = [&](bool done) {
        std::string now = LinkTarget(Path("current"));
        if (done) {
            EXPECT_EQ(now, "new") << "reported switched, lost at the power cut";
        } else {
            EXPECT_TRUE(now == "new" || now == "old") << now;
        }
    };
    EXPECT_GE(testing::CutPowerAtEveryCall(s), 4);
    testing::FailEveryCall(s, ENOSPC);
    testing::FailEveryCall(s, EIO);
}

TEST_F(DurableWriteTest, MakeDirectoriesKeepsWhatItReportedMade) {
    FaultScenario s;
    s.root = root();
    s.setup = [&] { Reset(); };
    s.operation = [&](FileSystem& fs) { return MakeDirectories(Path("a/b/c"), fs); };
    s.check = [&](bool done) {
        if (done) {
            EXPECT_TRUE(PathExists(Path("a/b/c"))) << "reported made, lost at the power cut";
        }
    };
    EXPECT_GE(testing::CutPowerAtEveryCall(s), 6);
    testing::FailEveryCall(s, ENOSPC);
}

TEST_F(DurableWriteTest, MakeDirectoriesRefusesAFileInTheWay) {
    Reset();
    hvkit::testing::WriteTestFile(Path("file"), "x");
    Status st = MakeDirectories(Path("file/sub"));
    ASSERT_FALSE(st.ok());
    EXPECT_NE(st.message().find(Path("file")), std::string::npos) << st.message();
    st = MakeDirectories(Path("file"));
    ASSERT_FALSE(st.ok());
    EXPECT_NE(st.message().find("exists and is not a directory"), std::string::npos)
        << st.message();
    EXPECT_TRUE(MakeDirectories(root()).ok()) << "an existing directory is made already";
}

}  // namespace
}  // namespace hvkit
