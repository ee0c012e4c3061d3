// Repository::RotateKey and RenewRoot, checked with the client's TrustedSet.
#include "hvkit/crypto.h"
#include "hvkit/fs.h"
#include "repo_fixture.h"

namespace hvkit::testing {
namespace {

class RepoRotateTest : public RepoFixture {
  protected:
    // The private key of (role) (keyid), wherever hvrepo keeps it now.
    PrivateKey Key(const std::string& role, const std::string& keyid) {
        std::string path = RepoDir() + "/keys/" + role + "/" + keyid + ".json";
        if (!PathExists(path)) path = RepoDir() + "/keys/retired/" + role + "-" + keyid + ".json";
        return PrivateKey::Load(path).value();
    }

    // (body) signed by (keys), as metadata file bytes.
    static std::string SignedBy(const Json& body, const std::vector<PrivateKey>& keys) {
        SignedEnvelope env{body, {}};
        for (const auto& key : keys) EXPECT_TRUE(env.Sign(key).ok());
        return DumpJson(env.ToJson());
    }

    static repo::KeyRotation Rotation(const std::string& role) {
        repo::KeyRotation rotation;
        rotation.role = role;
        return rotation;
    }
};

TEST_F(RepoRotateTest, NewRootIsAcceptedByAClientTrustingTheOldOne) {
    repo::Repository repo = Init();
    const std::string old_key = Root().roles.at("root").keyids[0];
    auto report = repo.RotateKey(Rotation("root"));
    ASSERT_TRUE(report.ok()) << report.status().message();
    EXPECT_EQ(report->root_version, 2);
    ASSERT_EQ(report->revoked_keyids, std::vector<std::string>{old_key});
    ASSERT_EQ(report->added_keyids.size(), 1u);
    EXPECT_TRUE(report->resigned_roles.empty());

    auto trusted = tuf::TrustedSet::Create(Metadata("1.root.json"), now);
    ASSERT_TRUE(trusted.ok());
    Status st = trusted->UpdateRoot(Metadata("2.root.json"));
    ASSERT_TRUE(st.ok()) << st.message();
    EXPECT_EQ(Metadata("root.json"), Metadata("2.root.json"));
    const tuf::RootMeta root = Root();
    EXPECT_EQ(root.roles.at("root").keyids, report->added_keyids);
    EXPECT_EQ(root.keys.count(old_key), 0u);
    // Signed by the old key (for version 1's clients) and the new one.
    EXPECT_EQ(Envelope(Metadata("2.root.json")).signatures.size(), 2u);
    EXPECT_TRUE(PathExists(RepoDir() + "/keys/retired/root-" + old_key + ".json"));
    EXPECT_TRUE(VerifyAsClient().ok()) << VerifyAsClient().message();
}

TEST_F(RepoRotateTest, RevokedRootKeyNoLongerCounts) {
    repo::Repository repo = Init();
    const std::string old_key = Root().roles.at("root").keyids[0];
    auto report = repo.RotateKey(Rotation("root"));
    ASSERT_TRUE(report.ok());
    const std::string new_key = report->added_keyids[0];
    auto trusted = tuf::TrustedSet::Create(Metadata("1.root.json"), now);
    ASSERT_TRUE(trusted->UpdateRoot(Metadata("2.root.json")).ok());

    // A version 3 signed only by the revoked key is refused ...
    tuf::RootMeta next = Root();
    next.common.version = 3;
    Status st = trusted->UpdateRoot(SignedBy(tuf::ToJson(next), {Key("root", old_key)}));
    EXPECT_EQ(st.code(), ErrorCode::kBadSignature) << st.message();
    // ... and accepted when the new key signs it.
    st = trusted->UpdateRoot(SignedBy(tuf::ToJson(next), {Key("root", new_key)}));
    EXPECT_TRUE(st.ok()) << st.message();
}

TEST_F(RepoRotateTest, TimestampRotationResignsOnlyTheTimestamp) {
    repo::Repository repo = Init();
    const std::string old_key = Root().roles.at("timestamp").keyids[0];
    const std::string old_timestamp = Metadata("timestamp.json");
    auto report = repo.RotateKey(Rotation("timestamp"));
    ASSERT_TRUE(report.ok()) << report.status().message();
    EXPECT_EQ(report->resigned_roles, std::vector<std::string>{"timestamp"});
    EXPECT_EQ(Timestamp().common.version, 2);
    EXPECT_EQ(Snapshot().common.version, 1);
    EXPECT_EQ(Targets().common.version, 1);
    EXPECT_TRUE(VerifyAsClient().ok()) << VerifyAsClient().message();

    // The old timestamp key no longer counts under root version 2.
    auto trusted = tuf::TrustedSet::Create(Metadata("2.root.json"), now);
    ASSERT_TRUE(trusted.ok());
    tuf::TimestampMeta forged = Timestamp();
    forged.common.version = 9;
    auto accepted =
        trusted->UpdateTimestamp(SignedBy(tuf::ToJson(forged), {Key("timestamp", old_key)}));
    EXPECT_EQ(accepted.status().code(), ErrorCode::kBadSignature) << accepted.status().message();
}

TEST_F(RepoRotateTest, SnapshotRotationResignsSnapshotAndTimestamp) {
    repo::Repository repo = Init();
    auto report = repo.RotateKey(Rotation("snapshot"));
    ASSERT_TRUE(report.ok()) << report.status().message();
    EXPECT_EQ(report->resigned_roles, (std::vector<std::string>{"snapshot", "timestamp"}));
    EXPECT_EQ(Targets().common.version, 1);
    EXPECT_EQ(Snapshot().common.version, 2);
    EXPECT_EQ(Timestamp().common.version, 2);
    EXPECT_TRUE(VerifyAsClient().ok()) << VerifyAsClient().message();
}

TEST_F(RepoRotateTest, TargetsRotationResignsTheWholeRelease) {
    repo::Repository repo = Init();
    WriteTestFile(dir.Sub("a.txt"), "alpha");
    ASSERT_TRUE(repo.AddTarget(dir.Sub("a.txt"), "").ok());
    ASSERT_TRUE(repo.Publish().ok());
    auto report = repo.RotateKey(Rotation("targets"));
    ASSERT_TRUE(report.ok()) << report.status().message();
    EXPECT_EQ(report->resigned_roles,
              (std::vector<std::string>{"targets", "snapshot", "timestamp"}));
    EXPECT_EQ(Targets().common.version, 3);
    EXPECT_EQ(Targets().targets.count("a.txt"), 1u);
    EXPECT_EQ(Snapshot().common.version, 3);
    EXPECT_EQ(Timestamp().common.version, 3);
    EXPECT_TRUE(VerifyAsClient().ok()) << VerifyAsClient().message();
}

TEST_F(RepoRotateTest, RotationDoesNotPublishStagedTargets) {
    repo::Repository repo = Init();
    WriteTestFile(dir.Sub("a.txt"), "alpha");
    ASSERT_TRUE(repo.AddTarget(dir.Sub("a.txt"), "").ok());
    ASSERT_TRUE(repo.RotateKey(Rotation("targets")).ok());
    EXPECT_TRUE(Targets().targets.empty());
    EXPECT_EQ(repo.Describe()->staged.added.size(), 1u);
}

TEST_F(RepoRotateTest, RevokeWithThresholdAcrossSeveralRootKeys) {
    repo::InitOptions init;
    init.keys_per_role = {{"root", 3}};
    init.thresholds = {{"root", 2}};
    repo::Repository repo = Init(init);
    const std::vector<std::string> keys = Root().roles.at("root").keyids;
    repo::KeyRotation rotation = Rotation("root");
    rotation.revoke = {keys[1].substr(0, 12)};  // a unique prefix is enough
    auto report = repo.RotateKey(rotation);
    ASSERT_TRUE(report.ok()) << report.status().message();
    EXPECT_EQ(report->revoked_keyids, std::vector<std::string>{keys[1]});
    const tuf::RoleKeys now_keys = Root().roles.at("root");
    EXPECT_EQ(now_keys.keyids, (std::vector<std::string>{keys[0], keys[2]}));
    EXPECT_EQ(now_keys.threshold, 2);
    EXPECT_TRUE(VerifyAsClient().ok()) << VerifyAsClient().message();

    // Replacing every root key of a threshold-2 root: 2 old + 2 new sign.
    report = repo.RotateKey(Rotation("root"));
    ASSERT_TRUE(report.ok()) << report.status().message();
    EXPECT_EQ(report->added_keyids.size(), 2u);
    EXPECT_EQ(Envelope(Metadata("3.root.json")).signatures.size(), 4u);
    EXPECT_TRUE(VerifyAsClient().ok()) << VerifyAsClient().message();
}

TEST_F(RepoRotateTest, AddKeyAndRaiseThreshold) {
    repo::Repository repo = Init();
    repo::KeyRotation rotation = Rotation("targets");
    rotation.add = 1;
    rotation.threshold = 2;
    ASSERT_TRUE(repo.RotateKey(rotation).ok());
    EXPECT_EQ(Root().roles.at("targets").keyids.size(), 2u);
    EXPECT_EQ(Root().roles.at("targets").threshold, 2);
    EXPECT_EQ(Envelope(Metadata(std::to_string(Targets().common.version) + ".targets.json"))
                  .signatures.size(),
              2u);
    EXPECT_TRUE(VerifyAsClient().ok()) << VerifyAsClient().message();
}

TEST_F(RepoRotateTest, RefusesImpossibleChanges) {
    repo::Repository repo = Init();
    const std::string key = Root().roles.at("snapshot").keyids[0];
    repo::KeyRotation rotation = Rotation("snapshot");
    rotation.revoke = {key};
    EXPECT_REPO_ERROR(repo.RotateKey(rotation).status(), ErrorCode::kInvalidArgument,
                      "refusing to leave the snapshot role without keys: add one with --add");
    rotation = Rotation("snapshot");
    rotation.threshold = 2;
    EXPECT_REPO_ERROR(repo.RotateKey(rotation).status(), ErrorCode::kInvalidArgument,
                      "threshold 2 of the snapshot role is impossible with 1 key(s)");
    rotation = Rotation("snapshot");
    rotation.revoke = {"deadbeefdeadbeef"};
    EXPECT_REPO_ERROR(repo.RotateKey(rotation).status(), ErrorCode::kNotFound,
                      "--revoke deadbeefdeadbeef: no snapshot key has this ID");
    rotation.revoke = {key.substr(0, 4)};
    EXPECT_REPO_ERROR(repo.RotateKey(rotation).status(), ErrorCode::kNotFound,
                      "at least 8 hex digits");
    EXPECT_REPO_ERROR(repo.RotateKey(Rotation("mirror")).status(), ErrorCode::kInvalidArgument,
                      "--role mirror: use one of root, targets, snapshot, timestamp");
    EXPECT_FALSE(PathExists(RepoDir() + "/metadata/2.root.json"));
}

TEST_F(RepoRotateTest, OfflineRootKeysAreRequiredAndNothingChangesWithoutThem) {
    repo::Repository repo = Init();
    ASSERT_EQ(rename((RepoDir() + "/keys/root").c_str(), dir.Sub("usb-root").c_str()), 0);
    EXPECT_REPO_ERROR(repo.RotateKey(Rotation("timestamp")).status(), ErrorCode::kNotFound,
                      "cannot sign root metadata: its threshold is 1 signature(s) but only 0");
    EXPECT_FALSE(PathExists(RepoDir() + "/metadata/2.root.json"));
    EXPECT_EQ(Timestamp().common.version, 1);
    // Publishing needs no root key.
    EXPECT_TRUE(repo.Publish().ok());
}

TEST_F(RepoRotateTest, RenewRootKeepsKeysAndRenewsExpiry) {
    repo::Repository repo = Init();
    now += 300 * kDay;
    auto report = repo.RenewRoot();
    ASSERT_TRUE(report.ok()) << report.status().message();
    EXPECT_EQ(report->root_version, 2);
    for (const auto& [role, keys] : Root("1.root.json").roles) {
        EXPECT_EQ(Root().roles.at(role).keyids, keys.keyids) << role;
        EXPECT_EQ(Root().roles.at(role).threshold, keys.threshold) << role;
    }
    EXPECT_EQ(Root().common.expires, now + 365 * kDay);
    ASSERT_TRUE(repo.Publish().ok());
    EXPECT_TRUE(VerifyAsClient().ok()) << VerifyAsClient().message();
}

}  // namespace
}  // namespace hvkit::testing
