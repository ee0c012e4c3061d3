// The in-memory set of trusted TUF metadata and the rules that admit new
// metadata into it (TUF 1.0, section 5: signatures and thresholds, version
// and rollback rules, expiry against a reference time fixed at start, and the
// hashes and lengths a parent role pins). Network and storage are the
// client's job (tuf/client.h); this class only decides.
#pragma once

#include <map>
#include <optional>
#include <string>

#include "hvkit/status.h"
#include "hvkit/tuf/metadata.h"

namespace hvkit::tuf {

template <typename T>
struct Trusted {
    T meta;
    std::string bytes;  // exactly as received, for persistence
};

class TrustedSet {
  public:
    // Starts from a locally trusted root (not checked for expiry: it is the
    // anchor) and (reference_time), the instant all expiry checks use.
    static Result<TrustedSet> Create(std::string_view root_bytes, int64_t reference_time);

    // Admits root version N+1: signed by a threshold of the trusted root's root
    // keys and of its own. Not allowed once a timestamp is trusted.
    Status UpdateRoot(std::string_view bytes);

    // Admits a timestamp. Returns false (and keeps the trusted one) when the
    // version equals the trusted version. Refuses rollbacks of the timestamp or
    // of the snapshot version it lists; an expired timestamp is kept for
    // rollback checks but the call fails.
    Result<bool> UpdateTimestamp(std::string_view bytes);

    // Admits a snapshot. (from_local_store) skips the hash check against the
    // timestamp (the bytes were verified when first stored).
    Status UpdateSnapshot(std::string_view bytes, bool from_local_store = false);

    // Admits top-level "targets" (parent "root") or a delegated role.
    Status UpdateTargets(std::string_view bytes, const std::string& role,
                         const std::string& parent);

    const Trusted<RootMeta>& root() const { return root_; }
    const std::optional<Trusted<TimestampMeta>>& timestamp() const { return timestamp_; }
    const std::optional<Trusted<SnapshotMeta>>& snapshot() const { return snapshot_; }
    const Trusted<TargetsMeta>* targets(const std::string& role) const;
    int64_t reference_time() const { return reference_time_; }

    // Fails if the trusted root has expired (checked once root updates are done).
    Status CheckRootNotExpired() const;

  private:
    TrustedSet() = default;
    Status CheckFinalTimestamp() const;
    Status CheckFinalSnapshot() const;

    int64_t reference_time_ = 0;
    Trusted<RootMeta> root_;
    std::optional<Trusted<TimestampMeta>> timestamp_;
    std::optional<Trusted<SnapshotMeta>> snapshot_;
    std::map<std::string, Trusted<TargetsMeta>> targets_;
};

}  // namespace hvkit::tuf
