// Well-formed packages: written, signed, verified, extracted and read back.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <random>

#include "hvkit/fs.h"
#include "hvkit/package/extract.h"
#include "hvkit/package/recipe.h"
#include "hvkit/package/sign.h"
#include "hvkit/package/verify.h"
#include "hvkit/package/writer.h"
#include "package_fixture.h"
#include "temp_dir.h"

namespace hvkit::testing {
namespace {

std::string RandomBytes(size_t n, uint32_t seed) {
    std::mt19937 rng(seed);
    std::string s(n, '\0');
    for (auto& c : s) c = static_cast<char>(rng());
    return s;
}

std::vector<TestFile> SampleFiles() {
    return {{.path = "hypervisor/bin/hvmm",
             .content = RandomBytes(3 << 20, 1),  // many blocks
             .component = Component::kHypervisor,
             .mode = 0755},
            {.path = "guest/bin/hvhelper",
             .content = "#!/bin/sh\necho hi\n",
             .component = Component::kGuestExtension,
             .mode = 04755},
            {.path = "filters/dns.so", .content = "", .component = Component::kFilterModule},
            {.path = "config/hvkit.json",
             .content = "{\"a\": 1}\n",
             .component = Component::kConfig,
             .mode = 0600}};
}

mode_t ModeOf(const std::string& path) {
    struct stat st;
    EXPECT_EQ(lstat(path.c_str(), &st), 0) << path;
    return st.st_mode;
}

// Writes (files) through PackageWriter, signed by (keys).
void WritePackage(const std::string& path, const std::vector<TestFile>& files,
                  const std::vector<const PrivateKey*>& keys, Compression compression) {
    SignedEnvelope env;
    env.signed_body = PackageFixture::ManifestFor(files).ToJson();
    for (const auto* key : keys) ASSERT_TRUE(env.Sign(*key).ok());
    auto writer = PackageWriter::Create(path, {.compression = compression});
    ASSERT_TRUE(writer.ok()) << writer.status().message();
    ASSERT_TRUE((*writer)->AddManifest(env).ok());
    Manifest m = PackageFixture::ManifestFor(files);
    for (const auto& f : files) {
        ASSERT_TRUE((*writer)->BeginFile(*m.Find(f.path)).ok());
        // Odd-sized pieces, to exercise the writer's bookkeeping.
        for (size_t off = 0; off < f.content.size(); off += 100003) {
            std::string_view piece = std::string_view(f.content).substr(off, 100003);
            ASSERT_TRUE((*writer)->Write(piece.data(), piece.size()).ok());
        }
        ASSERT_TRUE((*writer)->EndFile().ok());
    }
    Status st = (*writer)->Commit();
    ASSERT_TRUE(st.ok()) << st.message();
}

class RoundTripTest : public ::testing::TestWithParam<Compression> {};

TEST_P(RoundTripTest, WriteVerifyExtract) {
    PackageFixture fx;
    TempDir tmp;
    auto files = SampleFiles();
    WritePackage(tmp.Sub("p.hvpkg"), files, {&fx.keys[0]}, GetParam());

    auto verified = VerifyPackageFile(tmp.Sub("p.hvpkg"), fx.trust);
    ASSERT_TRUE(verified.ok()) << verified.status().message();
    EXPECT_TRUE(verified->signatures_verified);
    EXPECT_TRUE(verified->payload_verified);
    EXPECT_EQ(verified->signer_key_ids, std::vector<std::string>{fx.keys[0].KeyId()});
    EXPECT_EQ(verified->compression, GetParam());
    EXPECT_EQ(verified->payload_bytes, verified->manifest.TotalBytes());
    EXPECT_EQ(verified->manifest.files.size(), 4u);

    auto extracted = ExtractPackageFile(tmp.Sub("p.hvpkg"), fx.trust, tmp.Sub("out"));
    ASSERT_TRUE(extracted.ok()) << extracted.status().message();
    for (const auto& f : files) {
        EXPECT_EQ(ReadTestFile(tmp.Sub("out/" + f.path)), f.content) << f.path;
        EXPECT_EQ(ModeOf(tmp.Sub("out/" + f.path)) & 07777, f.mode) << f.path;
    }
    EXPECT_EQ(ModeOf(tmp.Sub("out")) & 07777, 0755u);
    EXPECT_EQ(ModeOf(tmp.Sub("out/hypervisor/bin")) & 07777, 0755u);
    // Only the destination appeared: no staging directory is left.
    EXPECT_EQ(TreeListing(tmp.path()).find(".staging"), std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(Compressions, RoundTripTest,
                         ::testing::Values(Compression::kZstd, Compression::kXz,
                                           Compression::kNone),
                         [](const auto& info) { return std::string(CompressionName(info.param)); });

TEST(RoundTrip, ThresholdOfDistinctKeysViaSign) {
    PackageFixture fx(3);
    auto trust = PackageTrustStore::Create({fx.keys[0].public_key(), fx.keys[1].public_key()}, 2);
    ASSERT_TRUE(trust.ok());
    TempDir tmp;
    std::string pkg = tmp.Sub("p.hvpkg");
    WritePackage(pkg, SampleFiles(), {&fx.keys[0]}, Compression::kZstd);
    EXPECT_EQ(VerifyPackageFile(pkg, *trust).status().code(), ErrorCode::kBadSignature);

    // Re-signing with the same key adds nothing; an untrusted key adds nothing.
    ASSERT_TRUE(SignPackageFile(pkg, {fx.keys[0], fx.keys[2]}).ok());
    EXPECT_EQ(VerifyPackageFile(pkg, *trust).status().message(),
              "refusing package " + pkg +
                  ": manifest: 1 valid signature(s) from authorised keys, threshold is 2 (is it "
                  "signed by keys in the trust store? hvpkg inspect shows the signing key IDs)");

    auto signed_info = SignPackageFile(pkg, {fx.keys[1]});
    ASSERT_TRUE(signed_info.ok()) << signed_info.status().message();
    EXPECT_EQ(signed_info->envelope.signatures.size(), 3u);
    auto ok = VerifyPackageFile(pkg, *trust);
    ASSERT_TRUE(ok.ok()) << ok.status().message();
    EXPECT_EQ(ok->signer_key_ids.size(), 2u);
    EXPECT_EQ(ok->compression, Compression::kZstd);
}

TEST(RoundTrip, SignRefusesAPayloadThatDoesNotMatchItsManifest) {
    PackageFixture fx;
    TempDir tmp;
    TestFile a{.path = "a", .content = "good"};
    RawEntry bad = PackageFixture::PayloadEntry(a);
    bad.data = "evil";
    std::string bytes =
        WriteRawArchive({fx.ManifestEntry(PackageFixture::ManifestFor({a}), {}), bad});
    WriteTestFile(tmp.Sub("p.hvpkg"), bytes);
    auto r = SignPackageFile(tmp.Sub("p.hvpkg"), {fx.keys[0]});
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.status().message().find("SHA-256 differs from the manifest"), std::string::npos);
    EXPECT_EQ(ReadTestFile(tmp.Sub("p.hvpkg")), bytes);  // untouched
}

TEST(RoundTrip, ExtractOnlySelectedComponents) {
    PackageFixture fx;
    TempDir tmp;
    WritePackage(tmp.Sub("p.hvpkg"), SampleFiles(), {&fx.keys[0]}, Compression::kZstd);
    ExtractOptions options;
    options.components = {Component::kHypervisor};
    auto r = ExtractPackageFile(tmp.Sub("p.hvpkg"), fx.trust, tmp.Sub("hv"), options);
    ASSERT_TRUE(r.ok()) << r.status().message();
    EXPECT_TRUE(PathExists(tmp.Sub("hv/hypervisor/bin/hvmm")));
    EXPECT_FALSE(PathExists(tmp.Sub("hv/guest")));
    EXPECT_FALSE(PathExists(tmp.Sub("hv/config")));
    EXPECT_TRUE(r->payload_verified);  // the rest was still checked
}

TEST(RoundTrip, ReadsFromADescriptor) {
    PackageFixture fx;
    TempDir tmp;
    WritePackage(tmp.Sub("p.hvpkg"), SampleFiles(), {&fx.keys[0]}, Compression::kZstd);
    int fd = open(tmp.Sub("p.hvpkg").c_str(), O_RDONLY);
    ASSERT_GE(fd, 0);
    PackageInput input = PackageInput::FromFd(fd, "handed-down package");
    auto r = VerifyPackage(input, fx.trust);
    close(fd);
    ASSERT_TRUE(r.ok()) << r.status().message();
    EXPECT_GT(r->package_bytes, 0u);
}

TEST(RoundTrip, InspectReadsWithoutTrust) {
    PackageFixture fx;
    std::string bytes = fx.Package({{.path = "a", .content = "x"}});
    PackageInput in = PackageInput::FromBytes(bytes, "p");
    auto r = InspectPackage(in, true);
    ASSERT_TRUE(r.ok()) << r.status().message();
    EXPECT_FALSE(r->signatures_verified);
    EXPECT_TRUE(r->payload_verified);
    EXPECT_EQ(r->envelope.signatures.size(), 1u);
}

TEST(RoundTrip, GuestExtensionMaySetuidByDefaultOthersWhenAllowed) {
    PackageFixture fx;
    TempDir tmp;
    TestFile tool{
        .path = "sbin/tool", .content = "x", .component = Component::kFilterModule, .mode = 04711};
    std::string bytes = fx.Package({tool});
    PackageInput in = PackageInput::FromBytes(bytes, "p");
    ExtractOptions options;
    options.policy.setuid_components = {Component::kFilterModule};
    auto r = ExtractPackage(in, fx.trust, tmp.Sub("out"), options);
    ASSERT_TRUE(r.ok()) << r.status().message();
    EXPECT_EQ(ModeOf(tmp.Sub("out/sbin/tool")) & 07777, 04711u);
}

TEST(RoundTrip, WriterRefusesContentThatDoesNotMatch) {
    PackageFixture fx;
    TempDir tmp;
    TestFile a{.path = "a", .content = "abc"};
    SignedEnvelope env;
    env.signed_body = PackageFixture::ManifestFor({a}).ToJson();
    auto writer = PackageWriter::Create(tmp.Sub("p.hvpkg"));
    ASSERT_TRUE(writer.ok());
    ASSERT_TRUE((*writer)->AddManifest(env).ok());
    ASSERT_TRUE((*writer)->BeginFile(*PackageFixture::ManifestFor({a}).Find("a")).ok());
    ASSERT_TRUE((*writer)->Write("abd", 3).ok());
    Status st = (*writer)->EndFile();
    EXPECT_EQ(st.code(), ErrorCode::kHashMismatch);
    EXPECT_FALSE((*writer)->Commit().ok());
    writer->reset();
    EXPECT_FALSE(PathExists(tmp.Sub("p.hvpkg")));
    EXPECT_EQ(TreeListing(tmp.path()), "");  // temporary file removed
}

TEST(Recipe, BuildsTheDemoPackage) {
    PackageFixture fx;
    TempDir tmp;
    auto recipe = LoadRecipe(std::string(HVKIT_SOURCE_DIR) + "/packages/recipes/demo.json");
    ASSERT_TRUE(recipe.ok()) << recipe.status().message();
    auto m = BuildPackage(*recipe, {fx.keys[0]}, tmp.Sub("demo.hvpkg"));
    ASSERT_TRUE(m.ok()) << m.status().message();
    EXPECT_EQ(m->name, "hvkit-demo");
    ComponentSet seen;
    for (const auto& f : m->files) seen.insert(f.component);
    EXPECT_EQ(seen, AllComponents());
    auto r = ExtractPackageFile(tmp.Sub("demo.hvpkg"), fx.trust, tmp.Sub("out"));
    ASSERT_TRUE(r.ok()) << r.status().message();
    EXPECT_EQ(ModeOf(tmp.Sub("out/guest/bin/hvdemo-hello")) & 07777, 0755u);
}

TEST(Recipe, ErrorsNameTheRecipeAndField) {
    auto parse = [](const std::string& text) {
        return RecipeFromJson(ParseJson(text, "r").value(), "/src", "demo.json").status().message();
    };
    EXPECT_EQ(parse(R"({"name":"x","version":"1.0.0","min_installed_version":"1.0.0",
                        "files":[{"component":"config","source":"a","path":"../a"}]})"),
              "demo.json file '../a': path leaves the destination");
    EXPECT_EQ(parse(R"({"name":"x","version":"1.0.0","min_installed_version":"1.0.0",
                        "files":[{"component":"config","source":"a","path":"a","owner":"x"}]})"),
              "demo.json: unknown file field 'owner' (expected component, source, path, mode)");
    EXPECT_NE(parse(R"({"name":"x","version":"1","min_installed_version":"1.0.0","files":[]})")
                  .find("demo.json version: '1' is not a semantic version"),
              std::string::npos);
    Recipe missing;
    missing.name = "x";
    missing.files.push_back(
        {.component = Component::kConfig, .source = "/nonexistent/file", .path = "a"});
    EXPECT_EQ(ManifestFromRecipe(missing).status().message(),
              "source /nonexistent/file of 'a' is not a readable regular file");
}

}  // namespace
}  // namespace hvkit::testing
