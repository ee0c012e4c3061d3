#include "hvkit/tuf/trusted_store.h"

#include <gtest/gtest.h>

#include "temp_dir.h"

namespace hvkit::tuf {
namespace {

void ExerciseStore(TrustedStore& store) {
    EXPECT_FALSE(store.Load("root")->has_value());
    ASSERT_TRUE(store.Save("root", "v1").ok());
    ASSERT_TRUE(store.Save("root", "v2").ok());
    EXPECT_EQ(**store.Load("root"), "v2");
    ASSERT_TRUE(store.Save("role/with space", "d").ok());
    EXPECT_EQ(**store.Load("role/with space"), "d");
    ASSERT_TRUE(store.Remove("root").ok());
    EXPECT_FALSE(store.Load("root")->has_value());
    ASSERT_TRUE(store.Remove("root").ok());  // removing twice is fine
}

TEST(TrustedStore, SqliteKeepsMetadataAcrossReopen) {
    testing::TempDir dir;
    {
        auto store = OpenSqliteTrustedStore(dir.Sub("tuf.db"));
        ASSERT_TRUE(store.ok()) << store.status().message();
        ExerciseStore(**store);
        ASSERT_TRUE((*store)->Save("timestamp", std::string("\0bin", 4)).ok());
    }
    auto again = OpenSqliteTrustedStore(dir.Sub("tuf.db"));
    ASSERT_TRUE(again.ok());
    EXPECT_EQ(**(*again)->Load("timestamp"), std::string("\0bin", 4));
}

TEST(TrustedStore, SqliteRecordsDownloads) {
    testing::TempDir dir;
    auto store = OpenSqliteTrustedStore(dir.Sub("tuf.db"));
    auto id = (*store)->BeginDownload({0, "a.hvpkg", "http://x/a", 10, "ab", "", 100, 0});
    ASSERT_TRUE(id.ok());
    ASSERT_TRUE((*store)->FinishDownload(*id, "ok", 105).ok());
    auto records = (*store)->Downloads();
    ASSERT_EQ(records->size(), 1u);
    EXPECT_EQ((*records)[0].target, "a.hvpkg");
    EXPECT_EQ((*records)[0].outcome, "ok");
    EXPECT_EQ((*records)[0].finished_at, 105);
}

TEST(TrustedStore, SqliteRefusesAnUnopenablePath) {
    auto store = OpenSqliteTrustedStore("/nonexistent-dir/sub/tuf.db");
    ASSERT_FALSE(store.ok());
    EXPECT_NE(store.status().message().find("/nonexistent-dir/sub/tuf.db"), std::string::npos);
}

TEST(TrustedStore, DirectoryUsesRoleFileNames) {
    testing::TempDir dir;
    auto store = MakeDirectoryTrustedStore(dir.path());
    ExerciseStore(*store);
    ASSERT_TRUE(store->Save("timestamp", "t").ok());
    EXPECT_EQ(testing::ReadTestFile(dir.Sub("timestamp.json")), "t");
    EXPECT_EQ(testing::ReadTestFile(dir.Sub("role%2Fwith%20space.json")), "d");
}

}  // namespace
}  // namespace hvkit::tuf
