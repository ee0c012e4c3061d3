// A TUF 1.0 repository on disk, as `hvrepo` creates and publishes it.
//
//   REPO/hvrepo.json         settings (expiry periods, where the keys live)
//   REPO/metadata/           what clients fetch: N.root.json + root.json,
//                            timestamp.json, N.snapshot.json, N.targets.json
//   REPO/targets/            target files stored as DIR/SHA256.NAME
//   REPO/staging/            targets added or removed but not yet published
//   REPO/keys/ROLE/ID.json   development private keys (or --keys DIR)
//
// The published metadata is the repository's state: there is no second copy
// to drift. Every file is written atomically, and a publish writes
// timestamp.json last, so a client sees the old or the new release, never a
// mix. docs/repository-format.md describes the format and the procedures.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "hvkit/clock.h"
#include "hvkit/json.h"
#include "hvkit/status.h"
#include "hvkit/tuf/metadata.h"

namespace hvkit::repo {

class RepositoryLock;

// The top-level roles in the order hvrepo lists them.
inline constexpr std::array<const char*, 4> kTopLevelRoles = {"root", "targets", "snapshot",
                                                              "timestamp"};

// How many keys each role gets at init, how many must sign, and for how long
// each signature is valid. Defaults: 1 key, threshold 1; root 365 days,
// targets 90, snapshot 7, timestamp 1.
struct InitOptions {
    std::map<std::string, int> keys_per_role;
    std::map<std::string, int64_t> thresholds;
    std::map<std::string, int64_t> expires_days;
};

struct RepositoryOptions {
    // Where the private keys are; empty means the directory recorded at init
    // (REPO/keys unless init was given another).
    std::string keys_dir;
    // The time metadata expiry is counted from (its wall reading); it must
    // outlive the repository.
    const Clock* clock = &RealClock();
};

// A change waiting in REPO/staging for the next publish.
struct StagedTargets {
    std::map<std::string, tuf::TargetFile> added;  // new or replaced targets
    std::set<std::string> removed;
};

struct PublishReport {
    bool targets_changed = false;
    int64_t targets_version = 0;
    int64_t snapshot_version = 0;
    int64_t timestamp_version = 0;
};

// A key change of one role. With neither (revoke), (add) nor (threshold),
// every key of the role is replaced by a new one.
struct KeyRotation {
    std::string role;
    std::vector<std::string> revoke;  // key IDs or unique prefixes (8+ hex digits)
    int add = 0;                      // new keys to generate
    std::optional<int64_t> threshold;
};

struct RotationReport {
    int64_t root_version = 0;
    std::vector<std::string> added_keyids;
    std::vector<std::string> revoked_keyids;
    std::vector<std::string> resigned_roles;  // besides root, in signing order
};

struct RoleStatus {
    std::string role;
    int64_t version = 0;
    int64_t expires = 0;
    int64_t threshold = 0;
    std::vector<std::string> keyids;
    std::vector<std::string> local_keyids;  // those whose private key is in the key directory
};

struct RepositoryStatus {
    std::string dir;
    std::string keys_dir;
    std::vector<RoleStatus> roles;                   // kTopLevelRoles order
    std::map<std::string, tuf::TargetFile> targets;  // published
    StagedTargets staged;
};

// Machine-readable form of (status) (`hvrepo status --json`).
Json ToJson(const RepositoryStatus& status);

class Repository {
  public:
    // Creates a repository in (dir) (which may exist but must not hold one):
    // keys for every role, root v1 signed by its own keys, and empty
    // targets, snapshot and timestamp v1.
    static Result<Repository> Init(const std::string& dir, const InitOptions& init,
                                   RepositoryOptions options = {});

    // Opens the repository in (dir) and checks that its published metadata
    // parses. Init and Open lock the repository (kConflict while another
    // Repository object, in any process, has it open).
    static Result<Repository> Open(const std::string& dir, RepositoryOptions options = {});

    // Copies (file) into the target store as (name) (its base name when
    // empty) with optional (custom) JSON object, and stages it for the next
    // publish. Names are relative paths of safe characters without "." or
    // ".." segments.
    Result<tuf::TargetFile> AddTarget(const std::string& file, const std::string& name,
                                      const Json& custom = Json());

    // Stages the removal of (name). Its stored file stays: older snapshots
    // that clients may still be reading list it.
    Status RemoveTarget(const std::string& name);

    // Releases the staged targets: targets version+1 when its content changed
    // (or half its validity has passed), and always a new snapshot and
    // timestamp with fresh expiry. Earlier versions stay in place.
    Result<PublishReport> Publish();

    // Writes root version N+1 with (rotation) applied, signed by a threshold
    // of root N's root keys and of its own; then re-signs and publishes the
    // roles whose keys changed and those that depend on them.
    Result<RotationReport> RotateKey(const KeyRotation& rotation);

    // Writes root version N+1 with the same keys and a fresh expiry, signed
    // by a threshold of the root keys (root cannot be renewed by publish:
    // its keys are meant to stay offline).
    Result<RotationReport> RenewRoot();

    // Versions, expiry, keys, published and staged targets.
    Result<RepositoryStatus> Describe() const;

    const std::string& dir() const { return dir_; }
    const std::string& keys_dir() const { return keys_dir_; }
    std::string metadata_dir() const { return dir_ + "/metadata"; }
    std::string targets_dir() const { return dir_ + "/targets"; }

  private:
    Repository() = default;
    int64_t Now() const { return clock_->UnixSeconds(); }
    int64_t ExpiryFor(const std::string& role) const;
    Result<RotationReport> ChangeRoot(const KeyRotation* rotation);

    std::string dir_;
    std::string keys_dir_;
    std::map<std::string, int64_t> expires_days_;
    const Clock* clock_ = &RealClock();
    std::shared_ptr<RepositoryLock> lock_;  // held while this object (or a copy) lives
};

}  // namespace hvkit::repo
