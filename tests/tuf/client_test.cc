// The TUF client's normal workflow: refresh, look-up through delegations,
// downloads, persistence between runs and root rotation.
#include "client_fixture.h"

namespace hvkit::testing {
namespace {

class ClientTest : public ClientFixture {};

TEST_F(ClientTest, RefreshesAndDownloadsATarget) {
    sim.AddTarget("hv/hvkit-1.0.0.hvpkg", "package bytes");
    sim.Release();
    auto bytes = Download("hv/hvkit-1.0.0.hvpkg");
    ASSERT_TRUE(bytes.ok()) << bytes.status().message();
    EXPECT_EQ(*bytes, "package bytes");
    EXPECT_EQ(StoredVersion("timestamp"), 2);
    EXPECT_EQ(StoredVersion("snapshot"), 2);
    EXPECT_EQ(StoredVersion("targets"), 2);
    auto records = store->Downloads().value();
    ASSERT_EQ(records.size(), 1u);
    EXPECT_EQ(records[0].outcome, "ok");
    EXPECT_EQ(records[0].target, "hv/hvkit-1.0.0.hvpkg");
    // Consistent snapshots: versioned metadata and hash-prefixed targets.
    EXPECT_NE(std::find(fetcher.requests.begin(), fetcher.requests.end(),
                        "http://sim/metadata/2.snapshot.json"),
              fetcher.requests.end());
    EXPECT_EQ(fetcher.requests.back(),
              "http://sim/targets/hv/" + Sha256::HexOf("package bytes") + ".hvkit-1.0.0.hvpkg");
}

TEST_F(ClientTest, MatchingTargetOnDiskIsNotDownloadedAgain) {
    sim.AddTarget("t", "cached bytes");
    sim.Release();
    ASSERT_TRUE(Download("t").ok());
    size_t fetches = fetcher.requests.size();
    ASSERT_TRUE(Download("t").ok());
    // The second run fetched metadata only (root probe, timestamp).
    EXPECT_EQ(fetcher.requests.size(), fetches + 2);
    EXPECT_EQ(store->Downloads()->size(), 1u);
    // A stale file under the same name is replaced.
    WriteTestFile(dir.Sub("out"), "stale bytes!");
    auto bytes = Download("t");
    ASSERT_TRUE(bytes.ok());
    EXPECT_EQ(*bytes, "cached bytes");
}

TEST_F(ClientTest, EveryDownloadIsCapped) {
    sim.AddTarget("t", "12345");
    sim.Release();
    ASSERT_TRUE(Download("t").ok());
    tuf::ClientConfig defaults;
    EXPECT_EQ(fetcher.caps.at("http://sim/metadata/2.root.json"), defaults.root_max_length);
    EXPECT_EQ(fetcher.caps.at("http://sim/metadata/timestamp.json"), defaults.timestamp_max_length);
    EXPECT_EQ(fetcher.caps.at("http://sim/metadata/2.snapshot.json"),
              static_cast<int64_t>(sim.files.at("2.snapshot.json").size()));
    EXPECT_EQ(fetcher.caps.at("http://sim/metadata/2.targets.json"), defaults.targets_max_length);
    EXPECT_EQ(fetcher.caps.at("http://sim/targets/" + Sha256::HexOf("12345") + ".t"), 5);
}

TEST_F(ClientTest, UnknownTargetIsNotFound) {
    ASSERT_TRUE(Refresh().ok());
    EXPECT_FAILS_WITH(Download("missing").status(), ErrorCode::kNotFound,
                      "target \"missing\" is not listed by any trusted targets role");
}

TEST_F(ClientTest, SecondRunReusesTrustedSnapshot) {
    ASSERT_TRUE(Refresh().ok());
    fetcher.requests.clear();
    ASSERT_TRUE(Refresh().ok());
    // Unchanged repository: only root probe and timestamp are fetched.
    EXPECT_EQ(fetcher.requests, (std::vector<std::string>{"http://sim/metadata/2.root.json",
                                                          "http://sim/metadata/timestamp.json"}));
}

TEST_F(ClientTest, FollowsRootRotationThroughEveryVersion) {
    ASSERT_TRUE(Refresh().ok());
    for (int i = 0; i < 3; ++i) {
        auto old_keys = sim.signers["root"];
        sim.RotateKeys("root", 2, 2);
        ++sim.root.common.version;
        sim.PublishRoot(old_keys);
    }
    ASSERT_TRUE(Refresh().ok());
    EXPECT_EQ(StoredVersion("root"), 4);
}

TEST_F(ClientTest, FindsTargetsThroughDelegations) {
    auto key = PrivateKey::Generate().value();
    sim.signers["hv-releases"] = {key};
    tuf::Delegations d;
    d.keys.emplace(key.KeyId(), key.public_key());
    tuf::DelegatedRole role;
    role.name = "hv-releases";
    role.keys = {{key.KeyId()}, 1};
    role.paths = {"hv/*"};
    d.roles.push_back(role);
    sim.targets.delegations = d;
    tuf::TargetsMeta delegated;
    delegated.common = {"targets", tuf::kSpecVersion, 1, kSimNow + 86400};
    delegated.targets["hv/pkg"] = {3, {{"sha256", Sha256::HexOf("abc")}}, Json()};
    sim.delegated["hv-releases"] = delegated;
    sim.AddTarget("hv/pkg", "abc");
    sim.targets.targets.erase("hv/pkg");  // listed only by the delegated role
    sim.Release();
    auto bytes = Download("hv/pkg");
    ASSERT_TRUE(bytes.ok()) << bytes.status().message();
    EXPECT_EQ(*bytes, "abc");
    EXPECT_EQ(StoredVersion("hv-releases"), 1);
    // A path outside the delegation is not looked up there.
    EXPECT_EQ(Download("other/pkg").status().code(), ErrorCode::kNotFound);
}

TEST_F(ClientTest, TerminatingDelegationStopsTheSearch) {
    auto a = PrivateKey::Generate().value();
    auto b = PrivateKey::Generate().value();
    sim.signers["a"] = {a};
    sim.signers["b"] = {b};
    tuf::Delegations d;
    d.keys.emplace(a.KeyId(), a.public_key());
    d.keys.emplace(b.KeyId(), b.public_key());
    d.roles.push_back({"a", {{a.KeyId()}, 1}, true, {"x/*"}, {}});
    d.roles.push_back({"b", {{b.KeyId()}, 1}, false, {"x/*"}, {}});
    sim.targets.delegations = d;
    tuf::TargetsMeta empty;
    empty.common = {"targets", tuf::kSpecVersion, 1, kSimNow + 86400};
    sim.delegated["a"] = empty;
    tuf::TargetsMeta has;
    has.common = empty.common;
    has.targets["x/f"] = {1, {{"sha256", Sha256::HexOf("f")}}, Json()};
    sim.delegated["b"] = has;
    sim.AddTarget("x/f", "f");
    sim.targets.targets.erase("x/f");
    sim.Release();
    EXPECT_EQ(Download("x/f").status().code(), ErrorCode::kNotFound);
    sim.delegated["a"].targets.clear();
    sim.targets.delegations->roles[0].terminating = false;
    sim.Release();
    EXPECT_TRUE(Download("x/f").ok());
}

TEST_F(ClientTest, ResumedClientNeedsATrustedRoot) {
    tuf::Client client(Config(), fetcher, *store);
    EXPECT_FAILS_WITH(client.Refresh(), ErrorCode::kNotFound, "no trusted root");
}

}  // namespace
}  // namespace hvkit::testing
