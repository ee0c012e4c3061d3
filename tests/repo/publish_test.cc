// Repository::AddTarget, RemoveTarget and Publish.
#include "hvkit/crypto.h"
#include "hvkit/fs.h"
#include "repo_fixture.h"

namespace hvkit::testing {
namespace {

class RepoPublishTest : public RepoFixture {
  protected:
    std::string File(const std::string& name, const std::string& contents) {
        WriteTestFile(dir.Sub("in/" + name), contents);
        return dir.Sub("in/" + name);
    }
};

TEST_F(RepoPublishTest, AddedTargetIsListedWithItsLengthAndHash) {
    repo::Repository repo = Init();
    const std::string contents(100000, 'x');
    auto added = repo.AddTarget(File("hvmm.bin", contents), "hypervisor/hvmm-1.0.bin",
                                ParseJson(R"({"component":"hypervisor"})", "custom").value());
    ASSERT_TRUE(added.ok()) << added.status().message();
    ASSERT_TRUE(repo.Publish().ok());

    tuf::TargetsMeta targets = Targets();
    ASSERT_EQ(targets.targets.count("hypervisor/hvmm-1.0.bin"), 1u);
    const tuf::TargetFile& file = targets.targets.at("hypervisor/hvmm-1.0.bin");
    const std::string sha = Sha256::HexOf(contents);
    EXPECT_EQ(file.length, 100000);
    EXPECT_EQ(file.hashes.at("sha256"), sha);
    EXPECT_EQ(file.custom.Find("component")->as_string(), "hypervisor");
    // Stored under its consistent name, in the target's directory.
    EXPECT_EQ(ReadTestFile(RepoDir() + "/targets/hypervisor/" + sha + ".hvmm-1.0.bin"), contents);
    EXPECT_TRUE(VerifyAsClient().ok()) << VerifyAsClient().message();
}

TEST_F(RepoPublishTest, StagedTargetIsInvisibleUntilPublished) {
    repo::Repository repo = Init();
    ASSERT_TRUE(repo.AddTarget(File("a.txt", "alpha"), "").ok());
    EXPECT_TRUE(Targets().targets.empty());
    EXPECT_EQ(Timestamp().common.version, 1);
    auto status = repo.Describe();
    ASSERT_TRUE(status.ok());
    EXPECT_EQ(status->staged.added.count("a.txt"), 1u);
    EXPECT_TRUE(status->targets.empty());

    ASSERT_TRUE(repo.Publish().ok());
    EXPECT_EQ(Targets().targets.count("a.txt"), 1u);
    status = repo.Describe();
    EXPECT_TRUE(status->staged.added.empty());
}

TEST_F(RepoPublishTest, PublishBumpsVersionsAndRenewsExpiry) {
    repo::Repository repo = Init();
    ASSERT_TRUE(repo.AddTarget(File("a.txt", "alpha"), "").ok());
    now += kDay / 2;
    auto report = repo.Publish();
    ASSERT_TRUE(report.ok()) << report.status().message();
    EXPECT_TRUE(report->targets_changed);
    EXPECT_EQ(Targets().common.version, 2);
    EXPECT_EQ(Snapshot().common.version, 2);
    EXPECT_EQ(Timestamp().common.version, 2);
    EXPECT_EQ(Targets().common.expires, now + 90 * kDay);

    // Nothing staged: targets stays; snapshot and timestamp move on with
    // fresh expiry (publish is also the renewal routine).
    now += 3 * kDay;
    report = repo.Publish();
    ASSERT_TRUE(report.ok());
    EXPECT_FALSE(report->targets_changed);
    EXPECT_EQ(report->targets_version, 2);
    EXPECT_EQ(Targets().common.version, 2);
    EXPECT_EQ(Snapshot().common.version, 3);
    EXPECT_EQ(Timestamp().common.version, 3);
    EXPECT_EQ(Snapshot().common.expires, now + 7 * kDay);
    EXPECT_EQ(Timestamp().common.expires, now + 1 * kDay);
    EXPECT_TRUE(VerifyAsClient().ok()) << VerifyAsClient().message();
}

TEST_F(RepoPublishTest, OldConsistentVersionsStay) {
    repo::Repository repo = Init();
    ASSERT_TRUE(repo.AddTarget(File("a.txt", "alpha"), "").ok());
    ASSERT_TRUE(repo.Publish().ok());
    ASSERT_TRUE(repo.AddTarget(File("a.txt", "alpha two"), "").ok());
    ASSERT_TRUE(repo.Publish().ok());
    for (const char* file : {"1.targets.json", "2.targets.json", "3.targets.json",
                             "1.snapshot.json", "2.snapshot.json", "3.snapshot.json"}) {
        EXPECT_TRUE(PathExists(RepoDir() + "/metadata/" + file)) << file;
    }
    EXPECT_EQ(ReadTestFile(RepoDir() + "/targets/" + Sha256::HexOf("alpha") + ".a.txt"), "alpha");
    EXPECT_EQ(Targets().targets.at("a.txt").hashes.at("sha256"), Sha256::HexOf("alpha two"));
}

TEST_F(RepoPublishTest, TargetsIsRenewedPastHalfItsValidity) {
    repo::Repository repo = Init();
    now += 44 * kDay;
    ASSERT_TRUE(repo.Publish().ok());
    EXPECT_EQ(Targets().common.version, 1);
    now += 2 * kDay;
    auto report = repo.Publish();
    ASSERT_TRUE(report.ok());
    EXPECT_FALSE(report->targets_changed);
    EXPECT_EQ(Targets().common.version, 2);
    EXPECT_EQ(Targets().common.expires, now + 90 * kDay);
}

TEST_F(RepoPublishTest, RemovedTargetLeavesTheListButNotTheStore) {
    repo::Repository repo = Init();
    ASSERT_TRUE(repo.AddTarget(File("a.txt", "alpha"), "").ok());
    ASSERT_TRUE(repo.AddTarget(File("b.txt", "beta"), "").ok());
    ASSERT_TRUE(repo.Publish().ok());
    ASSERT_TRUE(repo.RemoveTarget("a.txt").ok());
    ASSERT_TRUE(repo.Publish().ok());
    EXPECT_EQ(Targets().targets.count("a.txt"), 0u);
    EXPECT_EQ(Targets().targets.count("b.txt"), 1u);
    EXPECT_TRUE(PathExists(RepoDir() + "/targets/" + Sha256::HexOf("alpha") + ".a.txt"));
    EXPECT_REPO_ERROR(repo.RemoveTarget("a.txt"), ErrorCode::kNotFound,
                      "cannot remove target 'a.txt'");
}

TEST_F(RepoPublishTest, RepublishingAfterACrashChangesNothing) {
    repo::Repository repo = Init();
    ASSERT_TRUE(repo.AddTarget(File("a.txt", "alpha"), "").ok());
    const std::string staged = ReadTestFile(RepoDir() + "/staging/targets.json");
    ASSERT_TRUE(repo.Publish().ok());
    // As if the publish died before clearing the staging file.
    WriteTestFile(RepoDir() + "/staging/targets.json", staged);
    auto report = repo.Publish();
    ASSERT_TRUE(report.ok());
    EXPECT_FALSE(report->targets_changed);
    EXPECT_EQ(Targets().common.version, 2);
}

TEST_F(RepoPublishTest, RefusesUnsafeTargetNames) {
    repo::Repository repo = Init();
    const std::string file = File("a.txt", "alpha");
    EXPECT_REPO_ERROR(repo.AddTarget(file, "../escape").status(), ErrorCode::kRefused,
                      "refusing target name '../escape': '.' and '..' segments are not allowed");
    EXPECT_REPO_ERROR(repo.AddTarget(file, "a/../../b").status(), ErrorCode::kRefused,
                      "'.' and '..' segments are not allowed");
    EXPECT_REPO_ERROR(repo.AddTarget(file, "/etc/passwd").status(), ErrorCode::kRefused,
                      "refusing target name '/etc/passwd': absolute paths are not allowed");
    EXPECT_REPO_ERROR(repo.AddTarget(file, "a//b").status(), ErrorCode::kRefused,
                      "empty path segments");
    EXPECT_REPO_ERROR(repo.AddTarget(file, "dir/").status(), ErrorCode::kRefused,
                      "empty path segments");
    EXPECT_REPO_ERROR(repo.AddTarget(file, "a b?").status(), ErrorCode::kRefused,
                      "only letters, digits, '/' and . _ - + ~ @ = , are allowed");
    EXPECT_REPO_ERROR(repo.AddTarget(file, std::string(200, 'n')).status(), ErrorCode::kRefused,
                      "a path segment is longer than");
    auto status = repo.Describe();
    EXPECT_TRUE(status->staged.added.empty());
    EXPECT_FALSE(PathExists(dir.Sub("escape")));
}

TEST_F(RepoPublishTest, RefusesBadFilesAndCustomMetadata) {
    repo::Repository repo = Init();
    EXPECT_REPO_ERROR(repo.AddTarget(dir.Sub("missing.bin"), "").status(), ErrorCode::kNotFound,
                      "cannot add " + dir.Sub("missing.bin") + ": no such file");
    EXPECT_REPO_ERROR(repo.AddTarget(dir.path(), "d").status(), ErrorCode::kRefused,
                      "not a regular file");
    EXPECT_REPO_ERROR(repo.AddTarget(File("a.txt", "alpha"), "", Json("text")).status(),
                      ErrorCode::kInvalidArgument,
                      "custom metadata of target 'a.txt' must be a JSON object");
}

TEST_F(RepoPublishTest, MissingRoleKeysFailWithoutChangingTheRelease) {
    repo::Repository repo = Init();
    ASSERT_TRUE(repo.AddTarget(File("a.txt", "alpha"), "").ok());
    ASSERT_TRUE(RemoveTree(RepoDir() + "/keys/snapshot").ok());
    const std::string timestamp = Metadata("timestamp.json");
    EXPECT_REPO_ERROR(
        repo.Publish().status(), ErrorCode::kNotFound,
        "cannot sign snapshot metadata: its threshold is 1 signature(s) but only 0 of "
        "its keys are in " +
            RepoDir() + "/keys/snapshot/: pass --keys DIR");
    EXPECT_EQ(Metadata("timestamp.json"), timestamp);
    EXPECT_FALSE(PathExists(RepoDir() + "/metadata/2.targets.json"));
    EXPECT_EQ(repo.Describe()->staged.added.size(), 1u);
}

}  // namespace
}  // namespace hvkit::testing
