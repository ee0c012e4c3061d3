#include "hvkit/tuf/metadata.h"

#include <gtest/gtest.h>

#include "repo_sim.h"

namespace hvkit::tuf {
namespace {

std::string Err(const Status& st) {
    return st.message();
}

Json Body(const testing::RepoSim& sim, const std::string& file) {
    return ParseJson(sim.files.at(file), file).value().Find("signed")[0];
}

TEST(TufTime, ParsesAndFormatsUtc) {
    EXPECT_EQ(*ParseTufTime("1970-01-01T00:00:00Z", "x"), 0);
    EXPECT_EQ(*ParseTufTime("2030-01-01T00:00:00Z", "x"), 1893456000);
    EXPECT_EQ(FormatTufTime(1893456000), "2030-01-01T00:00:00Z");
    for (const char* bad : {"2030-01-01", "2030-01-01T00:00:00", "2030-01-01T00:00:00+01:00",
                            "2030-01-01T00:00:00.5Z", "garbage"}) {
        auto r = ParseTufTime(bad, "root.json");
        ASSERT_FALSE(r.ok()) << bad;
        EXPECT_NE(r.status().message().find("is not of the form YYYY-MM-DDTHH:MM:SSZ"),
                  std::string::npos);
    }
}

TEST(Metadata, RoundTripsEveryRole) {
    testing::RepoSim sim;
    sim.AddTarget("dir/file.bin", "payload");
    sim.Release();
    auto root = ParseRoot(Body(sim, "1.root.json"), "root");
    ASSERT_TRUE(root.ok()) << root.status().message();
    EXPECT_EQ(ToJson(*root), Body(sim, "1.root.json"));
    auto targets = ParseTargets(Body(sim, "2.targets.json"), "targets");
    ASSERT_TRUE(targets.ok());
    EXPECT_EQ(targets->targets.at("dir/file.bin").length, 7);
    EXPECT_EQ(ToJson(*targets), Body(sim, "2.targets.json"));
    auto snap = ParseSnapshot(Body(sim, "2.snapshot.json"), "snapshot");
    ASSERT_TRUE(snap.ok());
    EXPECT_EQ(snap->meta.at("targets.json").version, 2);
    auto ts = ParseTimestamp(Body(sim, "timestamp.json"), "timestamp");
    ASSERT_TRUE(ts.ok());
    EXPECT_EQ(ts->snapshot.version, 2);
    EXPECT_TRUE(ts->snapshot.length.has_value());
}

TEST(Metadata, SchemaErrorsNameTheField) {
    testing::RepoSim sim;
    Json root = Body(sim, "1.root.json");
    struct Case {
        const char* field;
        Json value;
        const char* message;
    } cases[] = {
        {"_type", "targets", "_type is \"targets\", expected \"root\""},
        {"spec_version", "2.0.0", "unsupported spec_version \"2.0.0\""},
        {"version", 0, "version must be at least 1"},
        {"version", "1", "field \"version\" must be a integer"},
        {"expires", "tomorrow", "is not of the form"},
        {"consistent_snapshot", "yes", "field \"consistent_snapshot\" must be a boolean"},
    };
    for (const auto& c : cases) {
        Json bad = root;
        bad[c.field] = c.value;
        auto r = ParseRoot(bad, "1.root.json");
        ASSERT_FALSE(r.ok()) << c.field;
        EXPECT_NE(Err(r.status()).find(c.message), std::string::npos) << Err(r.status());
        EXPECT_EQ(Err(r.status()).rfind("1.root.json", 0), 0u);
    }
    Json missing = root;
    missing.as_object().erase("roles");
    EXPECT_NE(Err(ParseRoot(missing, "r").status()).find("missing required field \"roles\""),
              std::string::npos);
}

TEST(Metadata, RefusesDuplicateKeyIdsAndZeroThreshold) {
    testing::RepoSim sim;
    Json root = Body(sim, "1.root.json");
    Json dup = root;
    Json& ids = dup["roles"]["root"]["keyids"];
    ids.Push(ids.as_array()[0]);
    EXPECT_NE(Err(ParseRoot(dup, "r").status()).find("is listed twice"), std::string::npos);
    Json zero = root;
    zero["roles"]["targets"]["threshold"] = 0;
    EXPECT_NE(Err(ParseRoot(zero, "r").status()).find("threshold must be at least 1"),
              std::string::npos);
}

TEST(Metadata, TimestampMustListOnlySnapshot) {
    testing::RepoSim sim;
    Json ts = Body(sim, "timestamp.json");
    ts["meta"]["targets.json"]["version"] = 1;
    EXPECT_NE(Err(ParseTimestamp(ts, "timestamp").status()).find("exactly snapshot.json"),
              std::string::npos);
}

TEST(Metadata, LengthAndHashChecks) {
    std::string data = "hello";
    std::map<std::string, std::string> hashes{{"sha256", Sha256::HexOf(data)}};
    EXPECT_TRUE(VerifyLengthAndHashes(data, 5, hashes, "f").ok());
    EXPECT_EQ(VerifyLengthAndHashes(data, 6, hashes, "f").message(),
              "f: length is 5 bytes, expected 6");
    EXPECT_EQ(VerifyLengthAndHashes("hellO", 5, hashes, "f").code(), ErrorCode::kHashMismatch);
    auto sha512 = DigestHex("sha512", data);
    EXPECT_FALSE(VerifyLengthAndHashes("x", std::nullopt, {{"sha512", *sha512}}, "f").ok());
    EXPECT_NE(
        VerifyLengthAndHashes(data, 5, {{"md5", "00"}}, "f").message().find("none of the listed"),
        std::string::npos);
}

TEST(Delegation, PathPatternsMatchWithinSegments) {
    EXPECT_TRUE(MatchTargetPattern("hv/*", "hv/pkg-1.0.hvpkg"));
    EXPECT_FALSE(MatchTargetPattern("hv/*", "hv/sub/pkg"));
    EXPECT_TRUE(MatchTargetPattern("*/*.hvpkg", "hv/a.hvpkg"));
    EXPECT_TRUE(MatchTargetPattern("file?.txt", "file1.txt"));
    EXPECT_FALSE(MatchTargetPattern("file?.txt", "file10.txt"));
    EXPECT_TRUE(MatchTargetPattern("exact", "exact"));
    DelegatedRole role;
    role.path_hash_prefixes = {Sha256::HexOf("a/b").substr(0, 2)};
    EXPECT_TRUE(role.IsDelegatedPath("a/b"));
}

}  // namespace
}  // namespace hvkit::tuf
