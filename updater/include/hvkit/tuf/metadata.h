// TUF 1.0 metadata: the four top-level roles and delegated targets, parsed
// from and serialised to the JSON the specification defines. Parsing checks
// the schema; signature and version rules live in the client (tuf/client.h)
// and in TrustedSet (tuf/trusted_set.h).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "hvkit/json.h"
#include "hvkit/signed.h"
#include "hvkit/status.h"

namespace hvkit::tuf {

inline constexpr const char* kSpecVersion = "1.0.31";

enum class Role { kRoot, kTimestamp, kSnapshot, kTargets };
const char* RoleName(Role role);

// Seconds since the epoch <-> "YYYY-MM-DDTHH:MM:SSZ" (the only form TUF uses).
Result<int64_t> ParseTufTime(std::string_view text, std::string_view context);
std::string FormatTufTime(int64_t unix_seconds);

// Fields every role has.
struct Common {
    std::string type;  // "_type"
    std::string spec_version;
    int64_t version = 0;
    int64_t expires = 0;  // unix seconds
};

struct RoleKeys {
    std::vector<std::string> keyids;
    int64_t threshold = 1;
};

struct RootMeta {
    Common common;
    bool consistent_snapshot = false;
    KeyRing keys;
    std::map<std::string, RoleKeys> roles;  // "root", "timestamp", "snapshot", "targets"
};

// An entry of timestamp's or snapshot's "meta": a metadata file's version and,
// optionally, its length and hashes.
struct MetaFile {
    int64_t version = 0;
    std::optional<int64_t> length;
    std::map<std::string, std::string> hashes;  // algorithm -> hex
};

struct TimestampMeta {
    Common common;
    MetaFile snapshot;  // meta["snapshot.json"]
};

struct SnapshotMeta {
    Common common;
    std::map<std::string, MetaFile> meta;  // "targets.json", "<delegated>.json"
};

struct TargetFile {
    int64_t length = 0;
    std::map<std::string, std::string> hashes;
    Json custom;  // null when absent
};

struct DelegatedRole {
    std::string name;
    RoleKeys keys;
    bool terminating = false;
    std::vector<std::string> paths;               // glob patterns ("*" within a segment)
    std::vector<std::string> path_hash_prefixes;  // alternative to paths
    // True when this role is trusted for (target_path).
    bool IsDelegatedPath(const std::string& target_path) const;
};

struct Delegations {
    KeyRing keys;
    std::vector<DelegatedRole> roles;
};

struct TargetsMeta {
    Common common;
    std::map<std::string, TargetFile> targets;
    std::optional<Delegations> delegations;
};

// Schema checks of a "signed" body: _type must be (expected type), spec_version
// major 1, version >= 1, a valid expiry. (what) names the document in errors.
Result<RootMeta> ParseRoot(const Json& signed_body, std::string_view what);
Result<TimestampMeta> ParseTimestamp(const Json& signed_body, std::string_view what);
Result<SnapshotMeta> ParseSnapshot(const Json& signed_body, std::string_view what);
Result<TargetsMeta> ParseTargets(const Json& signed_body, std::string_view what);

Json ToJson(const RootMeta& root);
Json ToJson(const TimestampMeta& timestamp);
Json ToJson(const SnapshotMeta& snapshot);
Json ToJson(const TargetsMeta& targets);
Json ToJson(const MetaFile& meta);
Json ToJson(const TargetFile& target);

// Checks (data) against (length) and every supported hash in (hashes)
// (sha256, sha512); an empty hash map checks only the length. (what) names it.
Status VerifyLengthAndHashes(std::string_view data, std::optional<int64_t> length,
                             const std::map<std::string, std::string>& hashes,
                             std::string_view what);

// The file name a target is served under with consistent snapshots:
// "dir/HASH.name" for target path "dir/name" (TUF 5.7.3).
std::string ConsistentTargetPath(const std::string& target_path, const std::string& hash_hex);

// Glob match for delegation paths: '*' matches within one path segment.
bool MatchTargetPattern(std::string_view pattern, std::string_view path);

}  // namespace hvkit::tuf
