#include "published_state.h"

#include "hvkit/fs.h"
#include "hvkit/json.h"

namespace hvkit::repo {

namespace {

constexpr size_t kMaxMetadataBytes = 64 * 1024 * 1024;

Result<SignedEnvelope> ReadEnvelope(const std::string& path, std::string* bytes) {
    HVKIT_ASSIGN_OR_RETURN(*bytes, ReadFile(path, kMaxMetadataBytes));
    HVKIT_ASSIGN_OR_RETURN(Json doc, ParseJson(*bytes, path));
    return SignedEnvelope::FromJson(doc, path);
}

Status CheckPinned(const std::string& path, const std::string& bytes, const tuf::MetaFile& pinned,
                   const std::string& by) {
    return tuf::VerifyLengthAndHashes(bytes, pinned.length, pinned.hashes, path)
        .WithContext("the repository is inconsistent (" + by + " pins other bytes); restore " +
                     path);
}

}  // namespace

Result<PublishedState> LoadPublishedState(const std::string& metadata_dir) {
    PublishedState state;
    const std::string root_path = metadata_dir + "/root.json";
    HVKIT_ASSIGN_OR_RETURN(SignedEnvelope root, ReadEnvelope(root_path, &state.root.bytes));
    HVKIT_ASSIGN_OR_RETURN(state.root.meta, tuf::ParseRoot(root.signed_body, root_path));
    // A rotation interrupted between N.root.json and root.json: clients can
    // already see the newer versioned file, so it is the current root.
    for (;;) {
        std::string next_path =
            metadata_dir + "/" + VersionedName("root", state.root.meta.common.version + 1);
        if (!PathExists(next_path)) break;
        std::string bytes;
        HVKIT_ASSIGN_OR_RETURN(SignedEnvelope next, ReadEnvelope(next_path, &bytes));
        HVKIT_ASSIGN_OR_RETURN(state.root.meta, tuf::ParseRoot(next.signed_body, next_path));
        state.root.bytes = std::move(bytes);
    }

    const std::string ts_path = metadata_dir + "/timestamp.json";
    HVKIT_ASSIGN_OR_RETURN(SignedEnvelope ts, ReadEnvelope(ts_path, &state.timestamp.bytes));
    HVKIT_ASSIGN_OR_RETURN(state.timestamp.meta, tuf::ParseTimestamp(ts.signed_body, ts_path));

    const tuf::MetaFile& snap_pin = state.timestamp.meta.snapshot;
    const std::string snap_path = metadata_dir + "/" + VersionedName("snapshot", snap_pin.version);
    HVKIT_ASSIGN_OR_RETURN(SignedEnvelope snap, ReadEnvelope(snap_path, &state.snapshot.bytes));
    HVKIT_RETURN_IF_ERROR(CheckPinned(snap_path, state.snapshot.bytes, snap_pin, ts_path));
    HVKIT_ASSIGN_OR_RETURN(state.snapshot.meta, tuf::ParseSnapshot(snap.signed_body, snap_path));

    const tuf::MetaFile& targets_pin = state.snapshot.meta.meta.at("targets.json");
    const std::string targets_path =
        metadata_dir + "/" + VersionedName("targets", targets_pin.version);
    HVKIT_ASSIGN_OR_RETURN(SignedEnvelope targets,
                           ReadEnvelope(targets_path, &state.targets.bytes));
    HVKIT_RETURN_IF_ERROR(CheckPinned(targets_path, state.targets.bytes, targets_pin, snap_path));
    HVKIT_ASSIGN_OR_RETURN(state.targets.meta,
                           tuf::ParseTargets(targets.signed_body, targets_path));
    return state;
}

std::string MetadataFileBytes(const SignedEnvelope& envelope) {
    return DumpJson(envelope.ToJson()) + "\n";
}

std::string VersionedName(const std::string& role, int64_t version) {
    return std::to_string(version) + "." + role + ".json";
}

Status WriteVersioned(const std::string& metadata_dir, const std::string& role, int64_t version,
                      std::string_view bytes) {
    return WriteFileAtomic(metadata_dir + "/" + VersionedName(role, version), bytes);
}

Status WriteRoot(const std::string& metadata_dir, int64_t version, std::string_view bytes) {
    const std::string path = metadata_dir + "/" + VersionedName("root", version);
    if (PathExists(path)) {
        return Error(ErrorCode::kConflict,
                     path +
                         " already exists and a published root is never rewritten: clients may "
                         "trust it already; inspect the metadata directory by hand");
    }
    HVKIT_RETURN_IF_ERROR(WriteFileAtomic(path, bytes));
    return WriteFileAtomic(metadata_dir + "/root.json", bytes);
}

Status WriteTimestamp(const std::string& metadata_dir, std::string_view bytes) {
    return WriteFileAtomic(metadata_dir + "/timestamp.json", bytes);
}

}  // namespace hvkit::repo
