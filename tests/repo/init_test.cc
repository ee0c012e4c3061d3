// Repository::Init and Open: layout, keys, a self-signed root and release v1.
#include <sys/stat.h>

#include "hvkit/crypto.h"
#include "hvkit/fs.h"
#include "repo_fixture.h"

namespace hvkit::testing {
namespace {

using RepoInitTest = RepoFixture;

mode_t ModeOf(const std::string& path) {
    struct stat st {};
    EXPECT_EQ(stat(path.c_str(), &st), 0) << path;
    return st.st_mode & 0777;
}

TEST_F(RepoInitTest, ProducesSelfSignedConsistentSnapshotRoot) {
    Init();
    EXPECT_EQ(Metadata("root.json"), Metadata("1.root.json"));
    auto trusted = tuf::TrustedSet::Create(Metadata("1.root.json"), now);
    ASSERT_TRUE(trusted.ok()) << trusted.status().message();

    tuf::RootMeta root = Root();
    EXPECT_EQ(root.common.version, 1);
    EXPECT_EQ(root.common.spec_version, tuf::kSpecVersion);
    EXPECT_TRUE(root.consistent_snapshot);
    ASSERT_EQ(root.roles.size(), 4u);
    for (const auto& [role, keys] : root.roles) {
        EXPECT_EQ(keys.keyids.size(), 1u) << role;
        EXPECT_EQ(keys.threshold, 1) << role;
        for (const auto& id : keys.keyids) {
            ASSERT_TRUE(root.keys.count(id)) << role;
            EXPECT_EQ(root.keys.at(id).KeyId(), id);
        }
    }
    // Each role has its own key: one compromised role key signs nothing else.
    EXPECT_EQ(root.keys.size(), 4u);
}

TEST_F(RepoInitTest, PublishesEmptyReleaseOneThatVerifies) {
    Init();
    EXPECT_TRUE(VerifyAsClient().ok()) << VerifyAsClient().message();
    EXPECT_EQ(Timestamp().common.version, 1);
    EXPECT_EQ(Snapshot().common.version, 1);
    EXPECT_EQ(Targets().common.version, 1);
    EXPECT_TRUE(Targets().targets.empty());
    for (const char* file : {"1.targets.json", "1.snapshot.json", "timestamp.json"}) {
        EXPECT_TRUE(PathExists(RepoDir() + "/metadata/" + file)) << file;
    }
}

TEST_F(RepoInitTest, MetaEntriesPinVersionLengthAndSha256) {
    Init();
    const tuf::MetaFile snap = Timestamp().snapshot;
    const std::string snapshot_bytes = Metadata("1.snapshot.json");
    EXPECT_EQ(snap.version, 1);
    EXPECT_EQ(snap.length, static_cast<int64_t>(snapshot_bytes.size()));
    EXPECT_EQ(snap.hashes.at("sha256"), Sha256::HexOf(snapshot_bytes));
    const tuf::MetaFile targets = Snapshot().meta.at("targets.json");
    const std::string targets_bytes = Metadata("1.targets.json");
    EXPECT_EQ(targets.length, static_cast<int64_t>(targets_bytes.size()));
    EXPECT_EQ(targets.hashes.at("sha256"), Sha256::HexOf(targets_bytes));
}

TEST_F(RepoInitTest, DefaultExpiries) {
    Init();
    EXPECT_EQ(Root().common.expires, now + 365 * kDay);
    EXPECT_EQ(Targets().common.expires, now + 90 * kDay);
    EXPECT_EQ(Snapshot().common.expires, now + 7 * kDay);
    EXPECT_EQ(Timestamp().common.expires, now + 1 * kDay);
}

TEST_F(RepoInitTest, HonoursThresholdsKeyCountsAndExpiry) {
    repo::InitOptions init;
    init.keys_per_role = {{"root", 3}, {"targets", 2}};
    init.thresholds = {{"root", 2}, {"targets", 2}};
    init.expires_days = {{"timestamp", 2}};
    Init(init);
    tuf::RootMeta root = Root();
    EXPECT_EQ(root.roles.at("root").keyids.size(), 3u);
    EXPECT_EQ(root.roles.at("root").threshold, 2);
    EXPECT_EQ(root.roles.at("targets").keyids.size(), 2u);
    EXPECT_EQ(root.roles.at("targets").threshold, 2);
    EXPECT_EQ(Timestamp().common.expires, now + 2 * kDay);
    EXPECT_EQ(Envelope(Metadata("root.json")).signatures.size(), 3u);
    EXPECT_TRUE(VerifyAsClient().ok());
}

TEST_F(RepoInitTest, KeysArePrivateFilesPerRole) {
    Init();
    tuf::RootMeta root = Root();
    EXPECT_EQ(ModeOf(RepoDir() + "/keys"), 0700u);
    for (const auto& [role, keys] : root.roles) {
        const std::string path = RepoDir() + "/keys/" + role + "/" + keys.keyids[0] + ".json";
        EXPECT_EQ(ModeOf(path), 0600u) << path;
        auto key = PrivateKey::Load(path);
        ASSERT_TRUE(key.ok()) << key.status().message();
        EXPECT_EQ(key->KeyId(), keys.keyids[0]);
    }
}

TEST_F(RepoInitTest, KeysElsewhereAreRemembered) {
    repo::RepositoryOptions options = Options();
    options.keys_dir = dir.Sub("offline-keys");
    ASSERT_TRUE(repo::Repository::Init(RepoDir(), {}, options).ok());
    EXPECT_FALSE(PathExists(RepoDir() + "/keys"));
    EXPECT_TRUE(PathExists(dir.Sub("offline-keys/root")));
    // A later run finds them without --keys.
    repo::Repository repo = Open();
    EXPECT_EQ(repo.keys_dir(), dir.Sub("offline-keys"));
    EXPECT_TRUE(repo.Publish().ok());
}

TEST_F(RepoInitTest, RefusesToInitOverAnExistingRepository) {
    Init();
    const std::string before = Metadata("root.json");
    auto again = repo::Repository::Init(RepoDir(), {}, Options());
    EXPECT_REPO_ERROR(again.status(), ErrorCode::kConflict,
                      "refusing to init " + RepoDir() + ": " + RepoDir() + "/hvrepo.json exists");
    EXPECT_EQ(Metadata("root.json"), before);
}

TEST_F(RepoInitTest, RefusesImpossibleThreshold) {
    repo::InitOptions init;
    init.thresholds = {{"root", 2}};
    auto repo = repo::Repository::Init(RepoDir(), init, Options());
    EXPECT_REPO_ERROR(
        repo.status(), ErrorCode::kInvalidArgument,
        "--threshold root=2: the threshold must be between 1 and the role's 1 key(s)");
    EXPECT_FALSE(PathExists(RepoDir()));
}

TEST_F(RepoInitTest, RefusesUnknownRoleAndBadExpiry) {
    repo::InitOptions init;
    init.keys_per_role = {{"mirror", 1}};
    EXPECT_REPO_ERROR(repo::Repository::Init(RepoDir(), init, Options()).status(),
                      ErrorCode::kInvalidArgument, "--keys-per-role names unknown role 'mirror'");
    init = {};
    init.expires_days = {{"snapshot", 0}};
    EXPECT_REPO_ERROR(repo::Repository::Init(RepoDir(), init, Options()).status(),
                      ErrorCode::kInvalidArgument, "--expires snapshot=0: expiry is 1 to");
}

TEST_F(RepoInitTest, OneRepositoryObjectAtATime) {
    {
        repo::Repository first = Init();
        auto second = repo::Repository::Open(RepoDir(), Options());
        EXPECT_REPO_ERROR(second.status(), ErrorCode::kConflict,
                          RepoDir() + " is in use by another hvrepo command");
    }
    EXPECT_TRUE(repo::Repository::Open(RepoDir(), Options()).ok());
}

TEST_F(RepoInitTest, OpenRefusesADirectoryWithoutRepository) {
    auto repo = repo::Repository::Open(dir.Sub("nothing"), Options());
    EXPECT_REPO_ERROR(repo.status(), ErrorCode::kNotFound,
                      dir.Sub("nothing") + " is not an hvrepo repository");
}

TEST_F(RepoInitTest, OpenNamesADamagedMetadataFile) {
    Init();
    WriteTestFile(RepoDir() + "/metadata/timestamp.json", "{not json");
    auto repo = repo::Repository::Open(RepoDir(), Options());
    EXPECT_FALSE(repo.ok());
    EXPECT_NE(repo.status().message().find(RepoDir() + "/metadata/timestamp.json"),
              std::string::npos)
        << repo.status().message();
}

}  // namespace
}  // namespace hvkit::testing
