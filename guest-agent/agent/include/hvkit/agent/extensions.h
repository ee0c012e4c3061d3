// Guest extensions on disk: every installed version in its own directory, a
// `current` symlink switched atomically, and `previous` kept for rollback.
//
//   DIR/versions/<version>/   the package's guest-extension, filter-module and
//                             config files at their install paths
//   DIR/current -> versions/<version>
//   DIR/previous -> versions/<version>   the one before, for rollback
//
// Staging extracts into versions/<version>.incoming (the package verified
// against the guest's trust store as it streams, files fsynced), then renames
// it into place; Activate switches the symlinks (hvkit/fs.h ReplaceSymlink:
// rename(2), then DIR fsynced), previous before current.
// Versions other than current and previous are removed after a switch.
#pragma once

#include <optional>
#include <string>

#include "hvkit/file_system.h"
#include "hvkit/package/trust_store.h"
#include "hvkit/semver.h"
#include "hvkit/status.h"

namespace hvkit::agent {

class ExtensionStore {
  public:
    // Every change to (dir) goes through (fs), which must outlive the store.
    explicit ExtensionStore(std::string dir, FileSystem& fs = RealFileSystem())
        : dir_(std::move(dir)), fs_(fs) {}

    // Extracts the guest's components of the package at (package) into
    // versions/<version>, replacing an earlier staging of the same version.
    // The package's version must be (version).
    Status Stage(const std::string& package, const PackageTrustStore& trust, const SemVer& version);
    // Makes (version) (already staged, or previous) current; the old current
    // becomes previous. previous is switched first: a crash in between leaves
    // current as it was, and calling Activate again finishes the switch.
    Status Activate(const SemVer& version);
    // Activate(previous): previous becomes current, current previous.
    Status RollBack();
    // Removes versions/<version> unless it is current or previous.
    Status Discard(const SemVer& version);

    // The versions the symlinks point to, if any.
    Result<std::optional<std::string>> Current() const;
    Result<std::optional<std::string>> Previous() const;
    bool Staged(const SemVer& version) const;

    std::string VersionDir(const std::string& version) const;
    const std::string& dir() const { return dir_; }

  private:
    Result<std::optional<std::string>> Target(const std::string& link) const;
    Status Point(const std::string& link, const std::string& version);
    Status CollectGarbage();
    std::string dir_;
    FileSystem& fs_;
};

}  // namespace hvkit::agent
