// The TUF client workflow (TUF 1.0, section 5): update root through every
// intermediate version, then timestamp, snapshot and targets, with a reference
// time fixed at the start and a length cap on every download; then look up a
// target through the delegation graph and download it against its hashes.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "hvkit/clock.h"
#include "hvkit/net/fetcher.h"
#include "hvkit/status.h"
#include "hvkit/tuf/metadata.h"
#include "hvkit/tuf/trusted_set.h"
#include "hvkit/tuf/trusted_store.h"

namespace hvkit::tuf {

struct ClientConfig {
    std::string metadata_base_url;  // "http://host/repo/metadata/"
    std::string target_base_url;    // "http://host/repo/targets/"
    int64_t root_max_length = 512 * 1024;
    int64_t timestamp_max_length = 16 * 1024;
    int64_t snapshot_max_length = 2 * 1024 * 1024;
    int64_t targets_max_length = 5 * 1024 * 1024;
    int max_root_rotations = 32;
    int max_delegations = 32;
    // The reference time for expiry (its wall reading, once per Refresh());
    // it must outlive the client.
    const Clock* clock = &RealClock();
};

struct TargetInfo {
    std::string path;
    TargetFile file;
};

class Client {
  public:
    // (fetcher) and (store) must outlive the client.
    Client(ClientConfig config, Fetcher& fetcher, TrustedStore& store);

    // Stores (root_bytes) as the trust anchor if the store has no root yet.
    // The root must be self-signed by a threshold of its root keys.
    Status Initialize(std::string_view root_bytes);

    // Runs the whole top-level update (root, timestamp, snapshot, targets).
    Status Refresh();

    // Finds (target_path) by a pre-order walk of the delegations (loading
    // delegated metadata as needed). kNotFound when no trusted role lists it.
    // Refresh() must have succeeded.
    Result<TargetInfo> GetTargetInfo(const std::string& target_path);

    // Downloads (target) to (dest) (renamed into place only when its length
    // and hashes match), resuming an interrupted download. A (dest) that
    // already matches is kept without a download.
    Status DownloadTarget(const TargetInfo& target, const std::string& dest,
                          const ProgressCallback& progress = {});

    const TrustedSet* trusted() const { return trusted_ ? &*trusted_ : nullptr; }

  private:
    Status UpdateRoot();
    Status UpdateTimestamp();
    Status UpdateSnapshot();
    Status LoadTargets(const std::string& role, const std::string& parent);
    Result<std::string> FetchMetadata(const std::string& role, std::optional<int64_t> version,
                                      int64_t max_length);
    std::string MetadataFileName(const std::string& role, std::optional<int64_t> version) const;

    ClientConfig config_;
    Fetcher& fetcher_;
    TrustedStore& store_;
    std::optional<TrustedSet> trusted_;
};

}  // namespace hvkit::tuf
