// Hostile packages: each is refused by both the verifier and the extractor
// with an error naming the rule, and the extraction leaves no trace.
#include <archive_entry.h>
#include <gtest/gtest.h>
#include <sys/sysmacros.h>

#include "hvkit/fs.h"
#include "hvkit/package/extract.h"
#include "hvkit/package/verify.h"
#include "package_fixture.h"
#include "temp_dir.h"

namespace hvkit::testing {
namespace {

constexpr const char* kPkg = "pkg.hvpkg";

class AttackTest : public ::testing::Test {
  protected:
    // Asserts (bytes) is refused with (fragment) in the message, by verify and
    // by extract, and that extraction left its parent directory unchanged.
    void ExpectRefused(const std::string& bytes, const std::string& fragment,
                       const PackagePolicy& policy = {}) {
        PackageInput vin = PackageInput::FromBytes(bytes, kPkg);
        auto verified = VerifyPackage(vin, fx.trust, policy);
        ASSERT_FALSE(verified.ok()) << "verify accepted a hostile package";
        EXPECT_NE(verified.status().message().find(fragment), std::string::npos)
            << "verify said: " << verified.status().message() << "\nexpected: " << fragment;

        TempDir tmp;
        WriteTestFile(tmp.Sub("keep/existing.txt"), "unrelated file");
        std::string before = TreeListing(tmp.path());
        PackageInput ein = PackageInput::FromBytes(bytes, kPkg);
        auto extracted = ExtractPackage(ein, fx.trust, tmp.Sub("dest"), {.policy = policy});
        ASSERT_FALSE(extracted.ok()) << "extract accepted a hostile package";
        EXPECT_NE(extracted.status().message().find(fragment), std::string::npos)
            << "extract said: " << extracted.status().message() << "\nexpected: " << fragment;
        EXPECT_FALSE(PathExists(tmp.Sub("dest")));
        EXPECT_EQ(TreeListing(tmp.path()), before) << "extraction left something behind";
    }

    // manifest.json for (files), then (entries).
    std::string WithEntries(const std::vector<TestFile>& files, std::vector<RawEntry> entries) {
        entries.insert(entries.begin(), fx.ManifestEntry(PackageFixture::ManifestFor(files)));
        return WriteRawArchive(entries);
    }

    PackageFixture fx{2};
    TestFile a{.path = "a.txt", .content = "alpha\n"};
    TestFile b{.path = "dir/b.txt", .content = "bravo\n"};
};

TEST_F(AttackTest, PackageSignedByUnknownKeyIsRefused) {
    Manifest m = PackageFixture::ManifestFor({a});
    std::string bytes =
        WriteRawArchive({fx.ManifestEntry(m, {1}), PackageFixture::PayloadEntry(a)});
    ExpectRefused(bytes,
                  "refusing package pkg.hvpkg: manifest: 0 valid signature(s) from authorised "
                  "keys, threshold is 1");
}

TEST_F(AttackTest, UnsignedPackageIsRefused) {
    Manifest m = PackageFixture::ManifestFor({a});
    std::string bytes = WriteRawArchive({fx.ManifestEntry(m, {}), PackageFixture::PayloadEntry(a)});
    ExpectRefused(bytes, "0 valid signature(s) from authorised keys, threshold is 1");
}

TEST_F(AttackTest, TamperedManifestIsRefused) {
    SignedEnvelope env;
    env.signed_body = PackageFixture::ManifestFor({a}).ToJson();
    ASSERT_TRUE(env.Sign(fx.keys[0]).ok());
    // Swap the content and its hash after signing.
    TestFile evil = a;
    evil.content = "evil!\n";
    env.signed_body["files"].as_array()[0]["sha256"] = Sha256::HexOf(evil.content);
    std::string bytes = WriteRawArchive(
        {PackageFixture::ManifestEntryFor(env), PackageFixture::PayloadEntry(evil)});
    ExpectRefused(bytes, "manifest: 0 valid signature(s) from authorised keys, threshold is 1");
}

TEST_F(AttackTest, PathTraversalIsRefused) {
    ExpectRefused(WithEntries({a}, {PackageFixture::PayloadEntry(a),
                                    RawEntry{.name = "payload/../../x", .data = "x"}}),
                  "refusing entry 'payload/../../x' in pkg.hvpkg: path leaves the destination");
    ExpectRefused(WithEntries({a}, {RawEntry{.name = "../../x", .data = "x"}}),
                  "refusing entry '../../x' in pkg.hvpkg: path leaves the destination");
}

TEST_F(AttackTest, AbsolutePathIsRefused) {
    ExpectRefused(WithEntries({a}, {RawEntry{.name = "/etc/cron.d/x", .data = "x"}}),
                  "refusing entry '/etc/cron.d/x' in pkg.hvpkg: absolute path");
}

TEST_F(AttackTest, EscapingSymlinkIsRefused) {
    ExpectRefused(WithEntries({a}, {RawEntry{.name = "payload/dir/etc",
                                             .type = AE_IFLNK,
                                             .perm = 0777,
                                             .symlink = "../../../etc"}}),
                  "refusing entry 'payload/dir/etc' in pkg.hvpkg: symlink to '../../../etc' "
                  "leaves the destination");
    ExpectRefused(WithEntries({a}, {RawEntry{.name = "payload/passwd",
                                             .type = AE_IFLNK,
                                             .perm = 0777,
                                             .symlink = "/etc/passwd"}}),
                  "symlink to '/etc/passwd' leaves the destination");
}

TEST_F(AttackTest, SymlinkInsideTheTreeIsStillRefused) {
    ExpectRefused(
        WithEntries(
            {a},
            {RawEntry{.name = "payload/link", .type = AE_IFLNK, .perm = 0777, .symlink = "a.txt"}}),
        "symlinks are not part of the package format");
}

TEST_F(AttackTest, EscapingHardlinkIsRefused) {
    ExpectRefused(WithEntries({a}, {RawEntry{.name = "payload/a.txt", .hardlink = "/etc/shadow"}}),
                  "refusing entry 'payload/a.txt' in pkg.hvpkg: hardlink to '/etc/shadow' leaves "
                  "the destination");
    ExpectRefused(WithEntries({a}, {RawEntry{.name = "payload/a.txt", .hardlink = "../secret"}}),
                  "hardlink to '../secret' leaves the destination");
}

TEST_F(AttackTest, HardlinkInsideTheTreeIsStillRefused) {
    ExpectRefused(
        WithEntries({a, b}, {PackageFixture::PayloadEntry(a),
                             RawEntry{.name = "payload/dir/b.txt", .hardlink = "payload/a.txt"}}),
        "hardlinks are not part of the package format");
}

TEST_F(AttackTest, DeviceNodeIsRefused) {
    ExpectRefused(WithEntries({a}, {RawEntry{.name = "payload/a.txt",
                                             .type = AE_IFCHR,
                                             .perm = 0666,
                                             .rdev = makedev(1, 3)}}),
                  "refusing entry 'payload/a.txt' in pkg.hvpkg: device nodes are not allowed");
    ExpectRefused(WithEntries({a}, {RawEntry{.name = "payload/disk",
                                             .type = AE_IFBLK,
                                             .perm = 0660,
                                             .rdev = makedev(8, 0)}}),
                  "device nodes are not allowed");
}

TEST_F(AttackTest, FifoIsRefused) {
    ExpectRefused(WithEntries({a}, {RawEntry{.name = "payload/pipe", .type = AE_IFIFO}}),
                  "refusing entry 'payload/pipe' in pkg.hvpkg: fifos are not allowed");
}

TEST_F(AttackTest, DirectoryEntryIsRefused) {
    ExpectRefused(
        WithEntries({b}, {RawEntry{.name = "payload/dir", .type = AE_IFDIR, .perm = 0755}}),
        "directory entries are not part of the package format");
}

TEST_F(AttackTest, SetuidIsRefusedForComponentsNotAllowed) {
    TestFile suid{.path = "bin/hvmm",
                  .content = "#!/bin/sh\n",
                  .component = Component::kHypervisor,
                  .mode = 04755};
    ExpectRefused(fx.Package({suid}),
                  "refusing entry 'payload/bin/hvmm' in pkg.hvpkg: mode 4755 sets "
                  "setuid/setgid, which component 'hypervisor' may not (allowed for: "
                  "guest-extension)");
    suid.mode = 02755;
    suid.component = Component::kGuestExtension;
    ExpectRefused(fx.Package({suid}),
                  "which component 'guest-extension' may not (allowed for: none)",
                  PackagePolicy{.setuid_components = {}});
}

TEST_F(AttackTest, ArchiveModeMustMatchTheManifest) {
    RawEntry entry = PackageFixture::PayloadEntry(a);
    entry.perm = 04755;  // setuid smuggled in the header only
    ExpectRefused(WithEntries({a}, {entry}),
                  "refusing entry 'payload/a.txt' in pkg.hvpkg: mode 4755 differs from the "
                  "manifest's 0644");
}

TEST_F(AttackTest, DuplicateEntryIsRefused) {
    ExpectRefused(
        WithEntries({a}, {PackageFixture::PayloadEntry(a), PackageFixture::PayloadEntry(a)}),
        "refusing entry 'payload/a.txt' in pkg.hvpkg: duplicate entry");
    ExpectRefused(WithEntries({a}, {PackageFixture::PayloadEntry(a),
                                    RawEntry{.name = "manifest.json", .data = "{}"}}),
                  "refusing entry 'manifest.json' in pkg.hvpkg: duplicate entry");
}

TEST_F(AttackTest, EntryNotInManifestIsRefused) {
    ExpectRefused(WithEntries({a}, {PackageFixture::PayloadEntry(a),
                                    RawEntry{.name = "payload/extra.so", .data = "elf"}}),
                  "refusing entry 'payload/extra.so' in pkg.hvpkg: entry is not listed in the "
                  "manifest");
    ExpectRefused(WithEntries({a}, {RawEntry{.name = "a.txt", .data = a.content}}),
                  "refusing entry 'a.txt' in pkg.hvpkg: entry is not listed in the manifest");
}

TEST_F(AttackTest, ManifestFileMissingFromArchiveIsRefused) {
    ExpectRefused(WithEntries({a, b}, {PackageFixture::PayloadEntry(a)}),
                  "refusing package pkg.hvpkg: file 'dir/b.txt' listed in the manifest is "
                  "missing from the archive");
}

TEST_F(AttackTest, SizeDifferentFromManifestIsRefused) {
    RawEntry longer = PackageFixture::PayloadEntry(a);
    longer.data = "alpha, and then some\n";
    ExpectRefused(WithEntries({a}, {longer}),
                  "refusing entry 'payload/a.txt' in pkg.hvpkg: size 21 differs from the "
                  "manifest's 6");
}

TEST_F(AttackTest, HashDifferentFromManifestIsRefused) {
    RawEntry swapped = PackageFixture::PayloadEntry(a);
    swapped.data = "alphA\n";
    ExpectRefused(WithEntries({a, b}, {PackageFixture::PayloadEntry(b), swapped}),
                  "refusing entry 'payload/a.txt' in pkg.hvpkg: SHA-256 differs from the manifest");
}

TEST_F(AttackTest, TotalSizeLimitIsEnforced) {
    TestFile big{.path = "big.bin", .content = std::string(4096, 'x')};
    PackagePolicy policy;
    policy.limits.max_total_bytes = 4000;
    ExpectRefused(fx.Package({big}),
                  "refusing package pkg.hvpkg: its files total 4096 bytes, past the limit of 4000 "
                  "bytes",
                  policy);
}

TEST_F(AttackTest, CompressionRatioLimitIsEnforced) {
    TestFile bomb{.path = "zeros.img", .content = std::string(4 << 20, '\0')};
    PackagePolicy policy;
    policy.limits.max_compression_ratio = 20;
    policy.limits.ratio_grace_bytes = 1 << 20;
    ExpectRefused(fx.Package({bomb}),
                  "refusing entry 'payload/zeros.img' in pkg.hvpkg: compression ratio past the "
                  "limit of 20:1",
                  policy);
}

TEST_F(AttackTest, TooManyEntriesAreRefused) {
    PackagePolicy policy;
    policy.limits.max_entries = 2;
    // Declared in the manifest: refused before any payload is read.
    ExpectRefused(fx.Package({a, b}),
                  "refusing package pkg.hvpkg: the manifest lists 2 files, past the limit of 2 "
                  "entries",
                  policy);
    // Not declared: counted as the archive streams.
    ExpectRefused(WithEntries({a}, {PackageFixture::PayloadEntry(a),
                                    RawEntry{.name = "payload/x1", .data = "1"}}),
                  "refusing entry 'payload/x1' in pkg.hvpkg: more than 2 entries, past the entry "
                  "limit",
                  policy);
}

TEST_F(AttackTest, OversizedManifestIsRefused) {
    PackagePolicy policy;
    policy.limits.max_manifest_bytes = 200;
    ExpectRefused(fx.Package({a}), "refusing entry 'manifest.json' in pkg.hvpkg: manifest of ",
                  policy);
    ExpectRefused(fx.Package({a}), "bytes is past the limit of 200 bytes", policy);
}

TEST_F(AttackTest, ManifestNotFirstIsRefused) {
    std::string bytes = WriteRawArchive(
        {PackageFixture::PayloadEntry(a), fx.ManifestEntry(PackageFixture::ManifestFor({a}))});
    ExpectRefused(bytes,
                  "refusing entry 'payload/a.txt' in pkg.hvpkg: the first entry must be "
                  "manifest.json");
}

TEST_F(AttackTest, ManifestThatIsNotJsonIsRefused) {
    ExpectRefused(WriteRawArchive({RawEntry{.name = "manifest.json", .data = "{\"signed\":"}}),
                  "refusing package pkg.hvpkg: manifest: invalid JSON");
}

TEST_F(AttackTest, NotAnArchiveIsRefused) {
    ExpectRefused(std::string(1000, 'A'),
                  "refusing package pkg.hvpkg: not a valid package archive");
    ExpectRefused("", "refusing package pkg.hvpkg: not a valid package archive");
}

TEST_F(AttackTest, TruncatedPackageIsRefused) {
    std::string bytes = fx.Package(
        {a, TestFile{.path = "r.bin", .content = std::string(300000, 'r')}}, Compression::kNone);
    ExpectRefused(bytes.substr(0, bytes.size() / 2), "not a valid package archive");
}

TEST_F(AttackTest, RollbackIsRefusedWhenInstalledVersionIsGiven) {
    ExpectRefused(fx.Package({a}), "is not newer than the installed version 1.0.0",
                  PackagePolicy{.installed_version = SemVer(1, 0, 0)});
    ExpectRefused(fx.Package({a}), "may only replace version 0.5.0 or newer; installed is 0.4.9",
                  PackagePolicy{.installed_version = SemVer(0, 4, 9)});
}

TEST_F(AttackTest, ExistingDestinationIsNeverTouched) {
    TempDir tmp;
    WriteTestFile(tmp.Sub("dest/old.txt"), "old");
    std::string before = TreeListing(tmp.path());
    std::string bytes = fx.Package({a});
    PackageInput in = PackageInput::FromBytes(bytes, kPkg);
    auto r = ExtractPackage(in, fx.trust, tmp.Sub("dest"));
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), ErrorCode::kConflict);
    EXPECT_NE(r.status().message().find("already exists: extract into a new directory"),
              std::string::npos)
        << r.status().message();
    EXPECT_EQ(TreeListing(tmp.path()), before);
}

}  // namespace
}  // namespace hvkit::testing
