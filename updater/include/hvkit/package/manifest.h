// The package manifest: what a package is (name, version, which installed
// versions it may replace) and every file it carries. It is the "signed" body
// of a SignedEnvelope with "_type" "hvkit-package"; see docs/package-format.md.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "hvkit/json.h"
#include "hvkit/package/component.h"
#include "hvkit/semver.h"
#include "hvkit/status.h"

namespace hvkit {

inline constexpr std::string_view kPackageManifestType = "hvkit-package";
inline constexpr int64_t kPackageFormatVersion = 1;

// Permission bits a manifest may give a file (setuid, setgid, sticky, rwx).
inline constexpr uint32_t kPackageModeMask = 07777;

struct PackageFile {
    std::string path{};  // install path, relative to the destination (path_rules.h)
    Component component = Component::kConfig;
    uint64_t size = 0;
    uint32_t mode = 0644;  // within kPackageModeMask
    std::string sha256{};  // 64 lower-case hex digits

    bool operator==(const PackageFile&) const = default;
};

struct Manifest {
    std::string name;
    SemVer version;
    SemVer min_installed_version;
    std::vector<PackageFile> files;  // sorted by path, unique

    // Sum of every file's size.
    uint64_t TotalBytes() const;
    // The file installed at (path), or nullptr.
    const PackageFile* Find(std::string_view path) const;

    // The "signed" body, ready for SignedEnvelope: files sorted by path.
    Json ToJson() const;
    // Checks the schema strictly (unknown fields, bad paths, duplicate or
    // conflicting files, malformed hashes and modes are refused). (what) names
    // the document in errors.
    static Result<Manifest> FromJson(const Json& body, std::string_view what);
};

// Checks that the package (manifest) may replace (installed): its
// min_installed_version is not above (installed) (kConflict) and its version is
// newer (kRollback), so a reinstall or downgrade is refused.
Status CheckUpgradeFrom(const Manifest& manifest, const SemVer& installed);

// "0755" for 0755.
std::string FormatMode(uint32_t mode);
// Exactly four octal digits ("0644"); (what) names the field in errors.
Result<uint32_t> ParseMode(std::string_view text, std::string_view what);

// A package name: 1-64 characters of [a-z0-9._+-], starting with [a-z0-9].
bool IsValidPackageName(std::string_view name);

}  // namespace hvkit
