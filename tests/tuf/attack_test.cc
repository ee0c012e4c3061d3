// One test per attack in the TUF threat model, each asserting the error the
// client gives and that it did not trust what the attacker served.
#include "client_fixture.h"
#include "hvkit/fs.h"

namespace hvkit::testing {
namespace {

class AttackTest : public ClientFixture {
  protected:
    void SetUp() override {
        sim.AddTarget("pkg", "genuine package");
        sim.Release();
        ASSERT_TRUE(Refresh().ok());
    }
};

TEST_F(AttackTest, ArbitraryPackageIsRefused) {
    for (auto& [name, bytes] : sim.target_files) bytes = "malicious packa";  // same length
    EXPECT_FAILS_WITH(Download("pkg").status(), ErrorCode::kHashMismatch,
                      "target pkg: sha256 hash does not match the targets metadata");
    EXPECT_FALSE(PathExists(dir.Sub("out")));
    EXPECT_NE(store->Downloads()->back().outcome.find("sha256 hash does not match"),
              std::string::npos);
}

TEST_F(AttackTest, EndlessDataIsCutAtTheDeclaredLength) {
    for (auto& [name, bytes] : sim.target_files) bytes += std::string(1 << 20, 'x');
    EXPECT_FAILS_WITH(Download("pkg").status(), ErrorCode::kTooLarge,
                      "exceeds the limit of 15 bytes");
    EXPECT_FALSE(PathExists(dir.Sub("out")));
}

TEST_F(AttackTest, EndlessTimestampIsCut) {
    sim.files["timestamp.json"] += std::string(32 * 1024, ' ');
    EXPECT_FAILS_WITH(Refresh(), ErrorCode::kTooLarge, "fetching timestamp metadata");
}

TEST_F(AttackTest, TimestampRollbackIsRefused) {
    std::string old = sim.files["timestamp.json"];
    sim.Release();
    ASSERT_TRUE(Refresh().ok());
    sim.files["timestamp.json"] = old;
    EXPECT_FAILS_WITH(Refresh(), ErrorCode::kRollback,
                      "timestamp version 2 is older than the trusted version 3");
    EXPECT_EQ(StoredVersion("timestamp"), 3);
}

TEST_F(AttackTest, SnapshotRollbackIsRefused) {
    // A fresh timestamp (signed by the real key) pointing at an older snapshot.
    ++sim.timestamp.common.version;
    sim.timestamp.snapshot.version = 1;
    sim.timestamp.snapshot.length.reset();
    sim.timestamp.snapshot.hashes.clear();
    sim.PublishTimestamp();
    EXPECT_FAILS_WITH(Refresh(), ErrorCode::kRollback,
                      "timestamp lists snapshot version 1, older than the trusted 2");
    EXPECT_EQ(StoredVersion("snapshot"), 2);
}

TEST_F(AttackTest, TargetsRollbackIsRefused) {
    ++sim.snapshot.common.version;
    sim.snapshot.meta["targets.json"].version = 1;
    sim.PublishSnapshot();
    ++sim.timestamp.common.version;
    sim.PublishTimestamp();
    EXPECT_FAILS_WITH(Refresh(), ErrorCode::kRollback,
                      "snapshot lists targets.json version 1, older than the trusted 2");
    EXPECT_EQ(StoredVersion("targets"), 2);
}

TEST_F(AttackTest, RootRollbackIsRefused) {
    // 2.root.json that claims to be version 1 (a replayed old root).
    sim.files["2.root.json"] = sim.files["1.root.json"];
    EXPECT_FAILS_WITH(Refresh(), ErrorCode::kRollback, "file claims version 1, expected exactly 2");
    EXPECT_EQ(StoredVersion("root"), 1);
}

TEST_F(AttackTest, FastForwardRecoveryAfterTimestampKeyRotation) {
    // An attacker with the timestamp key pushed the client to version 1000.
    sim.timestamp.common.version = 1000;
    sim.PublishTimestamp();
    ASSERT_TRUE(Refresh().ok());
    EXPECT_EQ(StoredVersion("timestamp"), 1000);
    // The repository rotates the timestamp key and starts again at 3.
    sim.RotateKeys("timestamp");
    ++sim.root.common.version;
    sim.PublishRoot();
    sim.timestamp.common.version = 3;
    sim.PublishTimestamp();
    ASSERT_TRUE(Refresh().ok()) << Refresh().message();
    EXPECT_EQ(StoredVersion("timestamp"), 3);
}

TEST_F(AttackTest, FastForwardRecoveryAfterSnapshotKeyRotation) {
    sim.snapshot.common.version = 1000;
    sim.PublishSnapshot();
    ++sim.timestamp.common.version;
    sim.PublishTimestamp();
    ASSERT_TRUE(Refresh().ok());
    sim.RotateKeys("snapshot");
    ++sim.root.common.version;
    sim.PublishRoot();
    sim.snapshot.common.version = 3;
    sim.PublishSnapshot();
    ++sim.timestamp.common.version;
    sim.PublishTimestamp();
    ASSERT_TRUE(Refresh().ok());
    EXPECT_EQ(StoredVersion("snapshot"), 3);
}

TEST_F(AttackTest, FreezeExpiredTimestamp) {
    now = sim.timestamp.common.expires;
    sim.root.common.expires = now + 86400;
    ++sim.root.common.version;
    sim.PublishRoot();
    EXPECT_FAILS_WITH(Refresh(), ErrorCode::kExpired, "timestamp version 2 expired at");
}

TEST_F(AttackTest, FreezeExpiredSnapshot) {
    sim.snapshot.common.expires = kSimNow - 1;
    ++sim.snapshot.common.version;
    sim.PublishSnapshot();
    ++sim.timestamp.common.version;
    sim.PublishTimestamp();
    EXPECT_FAILS_WITH(Refresh(), ErrorCode::kExpired, "snapshot version 3 expired at");
}

TEST_F(AttackTest, FreezeExpiredTargets) {
    sim.targets.common.expires = kSimNow - 1;
    sim.Release();
    EXPECT_FAILS_WITH(Refresh(), ErrorCode::kExpired, "targets version 3 expired at");
    EXPECT_EQ(StoredVersion("targets"), 2);
}

TEST_F(AttackTest, FreezeExpiredRoot) {
    now = sim.root.common.expires + 1;
    EXPECT_FAILS_WITH(Refresh(), ErrorCode::kExpired, "root version 1 expired at");
}

TEST_F(AttackTest, MixAndMatchSnapshotIsRefused) {
    // The timestamp lists snapshot 3, the mirror serves snapshot 2 under that name.
    sim.files["3.snapshot.json"] = sim.files["2.snapshot.json"];
    ++sim.timestamp.common.version;
    sim.timestamp.snapshot = {3, std::nullopt, {}};
    sim.PublishTimestamp();
    EXPECT_FAILS_WITH(
        Refresh(), ErrorCode::kRollback,
        "snapshot version 2 is not the version 3 the timestamp lists (mix-and-match attack)");
}

TEST_F(AttackTest, MixAndMatchTargetsIsRefused) {
    sim.files["3.targets.json"] = sim.files["2.targets.json"];
    ++sim.snapshot.common.version;
    sim.snapshot.meta["targets.json"].version = 3;
    sim.PublishSnapshot();
    ++sim.timestamp.common.version;
    sim.PublishTimestamp();
    EXPECT_FAILS_WITH(Refresh(), ErrorCode::kRollback,
                      "targets version 2 is not the version 3 the snapshot lists");
}

TEST_F(AttackTest, SnapshotNotMatchingTimestampHashIsRefused) {
    ++sim.snapshot.common.version;
    sim.PublishSnapshot();
    ++sim.timestamp.common.version;
    sim.PublishTimestamp();
    std::string& snap = sim.files["3.snapshot.json"];
    snap[snap.size() - 2] = snap[snap.size() - 2] == ' ' ? '\n' : ' ';
    EXPECT_FAILS_WITH(Refresh(), ErrorCode::kHashMismatch, "snapshot: sha256 hash does not match");
}

TEST_F(AttackTest, SignaturesBelowThresholdAreRefused) {
    auto old = sim.signers["root"];
    sim.RotateKeys("root", 3, 2);
    ++sim.root.common.version;
    std::vector<PrivateKey> only_one = {sim.signers["root"][0]};
    sim.signers["root"] = only_one;
    sim.PublishRoot(old);
    EXPECT_FAILS_WITH(Refresh(), ErrorCode::kBadSignature,
                      "root version 2 (threshold of its own keys): 1 valid signature(s) from "
                      "authorised keys, threshold is 2");
    EXPECT_EQ(StoredVersion("root"), 1);
}

TEST_F(AttackTest, RootNotSignedByPreviousKeysIsRefused) {
    sim.RotateKeys("root");
    ++sim.root.common.version;
    sim.PublishRoot();  // only the new key signs
    EXPECT_FAILS_WITH(Refresh(), ErrorCode::kBadSignature,
                      "root version 2 (threshold of the previous root's keys)");
}

TEST_F(AttackTest, TimestampSignedByAnUnknownKeyIsRefused) {
    ++sim.timestamp.common.version;
    sim.signers["timestamp"] = {PrivateKey::Generate().value()};
    sim.PublishTimestamp();
    EXPECT_FAILS_WITH(Refresh(), ErrorCode::kBadSignature, "timestamp: 0 valid signature(s)");
}

TEST_F(AttackTest, KeyRevokedByRotationNoLongerSigns) {
    auto revoked = sim.signers["targets"];
    sim.RotateKeys("targets");
    ++sim.root.common.version;
    sim.PublishRoot();
    sim.Release();
    ASSERT_TRUE(Refresh().ok());
    // The revoked key signs a new targets version.
    sim.signers["targets"] = revoked;
    sim.Release();
    EXPECT_FAILS_WITH(Refresh(), ErrorCode::kBadSignature, "targets: 0 valid signature(s)");
    EXPECT_EQ(StoredVersion("targets"), 3);
}

TEST_F(AttackTest, MalformedJsonIsRefused) {
    sim.files["timestamp.json"] = "{\"signed\": {";
    EXPECT_FAILS_WITH(Refresh(), ErrorCode::kMalformed, "timestamp: invalid JSON");
}

TEST_F(AttackTest, DuplicateJsonKeysAreRefused) {
    // A second "version" key after a signed body: parsers that keep the last
    // value would see version 99 while the signature covered another.
    std::string ts = sim.files["timestamp.json"];
    auto pos = ts.find("\"version\"");
    ASSERT_NE(pos, std::string::npos);
    ts.insert(pos, "\"version\": 99, ");
    sim.files["timestamp.json"] = ts;
    EXPECT_FAILS_WITH(Refresh(), ErrorCode::kMalformed, "duplicate key \"version\"");
}

TEST_F(AttackTest, WrongTypeUnderARoleNameIsRefused) {
    ++sim.timestamp.common.version;
    sim.files["timestamp.json"] = sim.Sign(tuf::ToJson(sim.snapshot), sim.signers["timestamp"]);
    EXPECT_FAILS_WITH(Refresh(), ErrorCode::kMalformed,
                      "_type is \"snapshot\", expected \"timestamp\"");
}

}  // namespace
}  // namespace hvkit::testing
