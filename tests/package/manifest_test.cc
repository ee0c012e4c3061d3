#include "hvkit/package/manifest.h"

#include <gtest/gtest.h>

#include "hvkit/package/path_rules.h"
#include "package_fixture.h"

namespace hvkit::testing {
namespace {

Manifest Sample() {
    return PackageFixture::ManifestFor(
        {{.path = "hypervisor/bin/hvmm",
          .content = "elf",
          .component = Component::kHypervisor,
          .mode = 0755},
         {.path = "guest/bin/helper",
          .content = "sh",
          .component = Component::kGuestExtension,
          .mode = 04755},
         {.path = "etc/hvkit.json", .content = "{}", .component = Component::kConfig}});
}

std::string SchemaError(const Json& body) {
    auto m = Manifest::FromJson(body, "manifest");
    EXPECT_FALSE(m.ok()) << DumpJson(body);
    return m.ok() ? "" : m.status().message();
}

TEST(Manifest, RoundTripsThroughJsonAndCanonicalBytes) {
    Manifest m = Sample();
    Json body = m.ToJson();
    auto back = Manifest::FromJson(body, "manifest");
    ASSERT_TRUE(back.ok()) << back.status().message();
    EXPECT_EQ(back->name, "demo");
    EXPECT_EQ(back->version.ToString(), "1.0.0");
    EXPECT_EQ(back->min_installed_version.ToString(), "0.5.0");
    EXPECT_EQ(back->files, m.files);
    EXPECT_EQ(*CanonicalJson(back->ToJson()), *CanonicalJson(body));
    // Through text, as it travels in manifest.json.
    auto reparsed = ParseJson(DumpJson(body), "manifest.json");
    ASSERT_TRUE(reparsed.ok());
    EXPECT_EQ(*CanonicalJson(*reparsed), *CanonicalJson(body));
    EXPECT_EQ(back->TotalBytes(), 7u);
    ASSERT_NE(back->Find("guest/bin/helper"), nullptr);
    EXPECT_EQ(back->Find("guest/bin/helper")->mode, 04755u);
    EXPECT_EQ(back->Find("guest/bin"), nullptr);
}

TEST(Manifest, FileEntriesUseReadableModesAndComponentNames) {
    Json body = Sample().ToJson();
    const Json& first = body["files"].as_array()[0];
    EXPECT_EQ(*JsonString(first, "path", "t"), "etc/hvkit.json");
    EXPECT_EQ(*JsonString(first, "mode", "t"), "0644");
    EXPECT_EQ(*JsonString(first, "component", "t"), "config");
    EXPECT_EQ(*JsonString(body, "_type", "t"), "hvkit-package");
}

TEST(Manifest, SchemaIsStrict) {
    Json body = Sample().ToJson();
    Json j = body;
    j["extra"] = 1;
    EXPECT_EQ(SchemaError(j), "manifest: unknown field 'extra'");
    j = body;
    j["_type"] = "targets";
    EXPECT_EQ(SchemaError(j), "manifest: _type is 'targets', expected 'hvkit-package'");
    j = body;
    j["format_version"] = 2;
    EXPECT_NE(SchemaError(j).find("format_version 2 is not supported"), std::string::npos);
    j = body;
    j["name"] = "Demo Package";
    EXPECT_NE(SchemaError(j).find("name 'Demo Package' must be"), std::string::npos);
    j = body;
    j["version"] = "1.0";
    EXPECT_NE(SchemaError(j).find("manifest version: '1.0' is not a semantic version"),
              std::string::npos);
    j = body;
    j["min_installed_version"] = "2.0.0";
    EXPECT_EQ(SchemaError(j),
              "manifest: min_installed_version 2.0.0 is newer than the package version 1.0.0");
}

TEST(Manifest, FileEntriesAreChecked) {
    Json body = Sample().ToJson();
    auto with_file = [&](const std::string& field, Json value) {
        Json j = body;
        j["files"].as_array()[0][field] = std::move(value);
        return SchemaError(j);
    };
    EXPECT_EQ(with_file("path", "../etc/passwd"),
              "manifest file '../etc/passwd': path leaves the destination");
    EXPECT_EQ(with_file("path", "/etc/passwd"), "manifest file '/etc/passwd': absolute path");
    EXPECT_NE(with_file("path", "a//b").find("not in normal form"), std::string::npos);
    EXPECT_NE(with_file("mode", "755").find("mode '755' must be four octal digits"),
              std::string::npos);
    EXPECT_NE(with_file("mode", "0855").find("must be four octal digits"), std::string::npos);
    EXPECT_NE(with_file("sha256", "ABCD").find("sha256 must be 64 lower-case hex digits"),
              std::string::npos);
    EXPECT_NE(with_file("size", -1).find("size must not be negative"), std::string::npos);
    EXPECT_NE(with_file("component", "kernel").find("unknown component 'kernel'"),
              std::string::npos);
    EXPECT_NE(with_file("owner", "root").find("unknown field 'owner'"), std::string::npos);
}

TEST(Manifest, DuplicateAndConflictingFilesAreRefused) {
    Json body = Sample().ToJson();
    Json dup = body;
    dup["files"].Push(body["files"].as_array()[0]);
    EXPECT_EQ(SchemaError(dup), "manifest: file 'etc/hvkit.json' is listed twice");
    Json conflict = body;
    Json nested = body["files"].as_array()[0];
    nested["path"] = "etc/hvkit.json/inner";
    conflict["files"].Push(nested);
    EXPECT_EQ(SchemaError(conflict),
              "manifest: file 'etc/hvkit.json/inner' needs 'etc/hvkit.json' to be a directory, "
              "but it is also listed as a file");
}

TEST(Manifest, UpgradeRules) {
    Manifest m = Sample();  // 1.0.0, replaces >= 0.5.0
    EXPECT_TRUE(CheckUpgradeFrom(m, SemVer(0, 5, 0)).ok());
    EXPECT_TRUE(CheckUpgradeFrom(m, *SemVer::Parse("1.0.0-rc.1", "v")).ok());
    Status old = CheckUpgradeFrom(m, SemVer(0, 4, 0));
    EXPECT_EQ(old.code(), ErrorCode::kConflict);
    EXPECT_EQ(old.message(),
              "package demo 1.0.0 may only replace version 0.5.0 or newer; installed is 0.4.0: "
              "install an intermediate version first");
    Status same = CheckUpgradeFrom(m, SemVer(1, 0, 0));
    EXPECT_EQ(same.code(), ErrorCode::kRollback);
    EXPECT_EQ(CheckUpgradeFrom(m, SemVer(2, 0, 0)).code(), ErrorCode::kRollback);
}

TEST(PathRules, AcceptOnlyNormalRelativePaths) {
    EXPECT_FALSE(PathRuleViolation("a"));
    EXPECT_FALSE(PathRuleViolation("a/b-c_d.e+f/g"));
    EXPECT_FALSE(PathRuleViolation("..a/b.."));
    EXPECT_EQ(PathRuleViolation(""), "path is empty");
    EXPECT_EQ(PathRuleViolation("/a"), "absolute path");
    EXPECT_EQ(PathRuleViolation("a/../b"), "path leaves the destination");
    EXPECT_EQ(PathRuleViolation(".."), "path leaves the destination");
    EXPECT_TRUE(PathRuleViolation("./a"));
    EXPECT_TRUE(PathRuleViolation("a/"));
    EXPECT_TRUE(PathRuleViolation("a//b"));
    EXPECT_EQ(PathRuleViolation("a\nb"), "path must be printable ASCII");
    EXPECT_EQ(PathRuleViolation("caf\xc3\xa9"), "path must be printable ASCII");
    EXPECT_TRUE(PathRuleViolation(std::string(256, 'x')));
    EXPECT_TRUE(PathRuleViolation(std::string(4097, 'x')));
}

TEST(PathRules, SymlinkTargets) {
    EXPECT_FALSE(SymlinkTargetLeaves("a/link", "b"));
    EXPECT_FALSE(SymlinkTargetLeaves("a/link", "../b"));
    EXPECT_TRUE(SymlinkTargetLeaves("a/link", "../../b"));
    EXPECT_TRUE(SymlinkTargetLeaves("link", "../x"));
    EXPECT_TRUE(SymlinkTargetLeaves("link", "/etc"));
    EXPECT_TRUE(SymlinkTargetLeaves("a/link", "b/../../../x"));
    EXPECT_TRUE(SymlinkTargetLeaves("link", ""));
}

TEST(PathRules, QuoteEscapesHostileBytes) {
    EXPECT_EQ(Quote("a/b"), "'a/b'");
    EXPECT_EQ(Quote("a\nb'\x1b"), "'a\\x0ab\\x27\\x1b'");
}

}  // namespace
}  // namespace hvkit::testing
