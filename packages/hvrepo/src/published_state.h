// The release clients currently see, read back from REPO/metadata: the
// latest root, the timestamp, and the snapshot and targets versions it
// leads to. Also the writers that publish new versions in the order that
// keeps every intermediate state consistent for a client.
#pragma once

#include <cstdint>
#include <string>

#include "hvkit/signed.h"
#include "hvkit/status.h"
#include "hvkit/tuf/metadata.h"

namespace hvkit::repo {

template <typename T>
struct Published {
    T meta;
    std::string bytes;  // the file as written
};

struct PublishedState {
    Published<tuf::RootMeta> root;
    Published<tuf::TimestampMeta> timestamp;
    Published<tuf::SnapshotMeta> snapshot;
    Published<tuf::TargetsMeta> targets;
};

// Reads the latest root (root.json, or a newer N.root.json left by an
// interrupted rotation), timestamp.json and the snapshot and targets versions they
// list from (metadata_dir), checking schemas and the lengths and hashes the
// timestamp and snapshot pin. Signatures are not checked here.
Result<PublishedState> LoadPublishedState(const std::string& metadata_dir);

// The file bytes of (envelope): pretty JSON, newline-terminated.
std::string MetadataFileBytes(const SignedEnvelope& envelope);

// "N.ROLE.json" (consistent snapshot name).
std::string VersionedName(const std::string& role, int64_t version);

// Writes (bytes) as (metadata_dir)/N.ROLE.json for a snapshot or targets
// version no published timestamp leads to yet (a file left by an interrupted
// publish is replaced: no client can have trusted it).
Status WriteVersioned(const std::string& metadata_dir, const std::string& role, int64_t version,
                      std::string_view bytes);

// Publishes root version (version): N.root.json first, then root.json.
// Refuses to replace an existing N.root.json: clients fetch those directly.
Status WriteRoot(const std::string& metadata_dir, int64_t version, std::string_view bytes);

// Replaces timestamp.json, the file that makes a new release visible.
Status WriteTimestamp(const std::string& metadata_dir, std::string_view bytes);

}  // namespace hvkit::repo
