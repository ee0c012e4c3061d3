// The two peers of an apply: the hypervisor, which stages and commits the
// package's hypervisor part, and the repository the package comes from.
// hvupdate gives them hvchan and TUF; tests give them hvmm's update service
// in-process and a directory.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "hvkit/agent/host_updater.h"
#include "hvkit/crypto.h"
#include "hvkit/semver.h"
#include "hvkit/status.h"

namespace hvkit::agent {

using Progress = std::function<void(uint64_t done, uint64_t total)>;

// The hypervisor's side (HostUpdater over hvchan; hvmm's service in tests).
class UpdateHost {
  public:
    virtual ~UpdateHost() = default;
    virtual Result<HostVersions> Versions() = 0;
    virtual Result<uint64_t> Send(const std::string& package, const Sha256Digest& package_sha256,
                                  const std::string& manifest, const Progress& progress) = 0;
    virtual Status End(uint64_t session) = 0;
    virtual Status Commit(uint64_t session) = 0;
    virtual Status Abort(uint64_t session) = 0;
    virtual Status Rollback() = 0;
    // The host's update state: its open or last session.
    virtual Result<hvchan_update_status> Report() = 0;
};

// Where packages come from (the TUF repository; a directory in tests).
class PackageSource {
  public:
    virtual ~PackageSource() = default;
    // Brings the trusted view of the repository up to date.
    virtual Status Refresh() = 0;
    // The versions offered, from the last Refresh.
    virtual Result<std::vector<SemVer>> Available() = 0;
    // Downloads (version)'s package to (dest), verified against the
    // repository's metadata; returns the file's SHA-256 as verified, so no
    // later step has to read the file again for it.
    virtual Result<Sha256Digest> Fetch(const SemVer& version, const std::string& dest,
                                       const Progress& progress) = 0;
};

}  // namespace hvkit::agent
