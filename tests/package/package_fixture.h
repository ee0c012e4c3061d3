// Shared pieces of the package tests: keys and a trust store, manifests built
// from in-memory files, and a raw archive writer that puts any entry (paths,
// types, modes, link targets, sizes) into an archive, so hostile packages are
// crafted exactly as an attacker would.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "hvkit/crypto.h"
#include "hvkit/package/format.h"
#include "hvkit/package/manifest.h"
#include "hvkit/package/trust_store.h"
#include "hvkit/signed.h"

namespace hvkit::testing {

// One archive entry, written exactly as described.
struct RawEntry {
    std::string name{};
    mode_t type = 0100000;  // AE_IFREG
    uint32_t perm = 0644;
    std::string data{};
    std::optional<int64_t> size{};  // header size; data.size() when unset
    std::string symlink{};          // target of an AE_IFLNK entry
    std::string hardlink{};         // when set, a hardlink entry to this archive path
    dev_t rdev = 0;
};

// The bytes of an archive holding (entries) in order.
std::string WriteRawArchive(const std::vector<RawEntry>& entries,
                            Compression compression = Compression::kZstd);

// A file of a test package.
struct TestFile {
    std::string path{};
    std::string content{};
    Component component = Component::kConfig;
    uint32_t mode = 0644;
};

class PackageFixture {
  public:
    // (key_count) fresh keys; the trust store trusts key 0 with threshold 1.
    explicit PackageFixture(int key_count = 1);

    // A manifest "demo" 1.0.0 (min 0.5.0) listing (files) with their hashes.
    static Manifest ManifestFor(const std::vector<TestFile>& files);
    // manifest.json signed by the keys at (signers) (indexes into keys).
    RawEntry ManifestEntry(const Manifest& manifest, const std::vector<int>& signers = {0}) const;
    static RawEntry ManifestEntryFor(const SignedEnvelope& envelope);
    // "payload/<path>" holding (file)'s content and mode.
    static RawEntry PayloadEntry(const TestFile& file);
    // A well-formed package of (files), signed by key 0.
    std::string Package(const std::vector<TestFile>& files,
                        Compression compression = Compression::kZstd) const;

    std::vector<PrivateKey> keys;
    PackageTrustStore trust;
};

// A recursive listing of (dir) (names, types, modes, sizes, contents' hashes),
// to show that a refused operation left a directory exactly as it was.
std::string TreeListing(const std::string& dir);

}  // namespace hvkit::testing
