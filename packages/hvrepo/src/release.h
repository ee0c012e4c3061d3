// A release: new versions of targets, snapshot and timestamp, signed and
// written so that each parent pins the exact bytes of its child and
// timestamp.json, written last, makes it visible in one step.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "hvkit/status.h"
#include "key_store.h"
#include "published_state.h"

namespace hvkit::repo {

// Where a release starts: the first role that gets a new version. Every role
// below it (snapshot, then timestamp) follows, since it pins its child.
enum class ReleaseStart { kTargets, kSnapshot, kTimestamp };

struct ReleaseContext {
    std::string metadata_dir;
    const KeyStore* keys = nullptr;
    // The expiry, in seconds since the epoch, of a role signed now.
    std::function<int64_t(const std::string& role)> expires_at;
};

// Signs version+1 of each role from (start) down to the timestamp with fresh
// expiry, in memory; for kTargets, (state).targets.meta holds the new target
// list. Fails, writing nothing, when keys are missing.
Result<PublishedState> PrepareRelease(const ReleaseContext& context, ReleaseStart start,
                                      const PublishedState& state);

// Writes the files of (release) that changed from (start) on, timestamp.json last.
Status WriteRelease(const ReleaseContext& context, ReleaseStart start,
                    const PublishedState& release);

// PrepareRelease then WriteRelease; (state) becomes the new release.
Status Release(const ReleaseContext& context, ReleaseStart start, PublishedState& state);

}  // namespace hvkit::repo
