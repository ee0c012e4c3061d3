// The guest's side of the hvchan update calls: sends a package to the
// hypervisor in hashed chunks and drives its session (docs/hvchan-abi.md).
// The hypervisor verifies everything again; this side only reports what it
// says, as errors that name the call and the status.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "hvkit/crypto.h"
#include "hvkit/hvchan_guest.h"
#include "hvkit/status.h"

namespace hvkit::agent {

struct HostVersions {
    std::string running;    // the hvmm answering
    std::string committed;  // what its next start runs ("" = same as running)
    bool update_permitted = false;
    // The version a package must upgrade from: committed, else running.
    const std::string& installed() const { return committed.empty() ? running : committed; }
};

class HostUpdater {
  public:
    using Progress = std::function<void(uint64_t done, uint64_t total)>;
    // Chunk size per UPDATE_WRITE (at most HVCHAN_UPDATE_MAX_CHUNK).
    static constexpr size_t kChunk = 128 * 1024;

    explicit HostUpdater(hvchan::Channel& channel) : ch_(channel) {}

    Result<HostVersions> Versions();
    // UPDATE_BEGIN with (manifest) (manifest.json bytes) and the package's size
    // and SHA-256 (package_sha256: known from the download's verification;
    // hvmm checks it at END), then every chunk of the file at (package) with
    // its own SHA-256. Returns the session. The file is read once.
    Result<uint64_t> Send(const std::string& package, const Sha256Digest& package_sha256,
                          const std::string& manifest, const Progress& progress = {});
    Status End(uint64_t session);
    Status Commit(uint64_t session);
    Status Abort(uint64_t session);
    Status Rollback();
    Result<hvchan_update_status> Report();

  private:
    // An error for (call) having returned (status).
    Status Refused(const char* call, uint32_t status) const;
    hvchan::Channel& ch_;
};

}  // namespace hvkit::agent
