#include "release.h"

#include "hvkit/crypto.h"
#include "signing.h"

namespace hvkit::repo {

namespace {

void Renew(tuf::Common& common, const std::string& type, int64_t expires) {
    common.type = type;
    common.spec_version = tuf::kSpecVersion;
    common.version += 1;
    common.expires = expires;
}

// The entry a parent role uses to pin (bytes) of version (version).
tuf::MetaFile PinOf(int64_t version, const std::string& bytes) {
    tuf::MetaFile pin;
    pin.version = version;
    pin.length = static_cast<int64_t>(bytes.size());
    pin.hashes["sha256"] = Sha256::HexOf(bytes);
    return pin;
}

template <typename T>
Status SignInto(Published<T>& published, const std::string& role, const ReleaseContext& context,
                const tuf::RootMeta& root) {
    HVKIT_ASSIGN_OR_RETURN(SignedEnvelope envelope,
                           SignAsRole(tuf::ToJson(published.meta), role, root, *context.keys));
    published.bytes = MetadataFileBytes(envelope);
    return Status::Ok();
}

}  // namespace

Result<PublishedState> PrepareRelease(const ReleaseContext& context, ReleaseStart start,
                                      const PublishedState& state) {
    PublishedState next = state;
    const tuf::RootMeta& root = state.root.meta;
    if (start == ReleaseStart::kTargets) {
        Renew(next.targets.meta.common, "targets", context.expires_at("targets"));
        HVKIT_RETURN_IF_ERROR(SignInto(next.targets, "targets", context, root));
    }
    if (start != ReleaseStart::kTimestamp) {
        Renew(next.snapshot.meta.common, "snapshot", context.expires_at("snapshot"));
        next.snapshot.meta.meta["targets.json"] =
            PinOf(next.targets.meta.common.version, next.targets.bytes);
        HVKIT_RETURN_IF_ERROR(SignInto(next.snapshot, "snapshot", context, root));
    }
    Renew(next.timestamp.meta.common, "timestamp", context.expires_at("timestamp"));
    next.timestamp.meta.snapshot = PinOf(next.snapshot.meta.common.version, next.snapshot.bytes);
    HVKIT_RETURN_IF_ERROR(SignInto(next.timestamp, "timestamp", context, root));
    return next;
}

Status WriteRelease(const ReleaseContext& context, ReleaseStart start,
                    const PublishedState& release) {
    if (start == ReleaseStart::kTargets) {
        HVKIT_RETURN_IF_ERROR(WriteVersioned(context.metadata_dir, "targets",
                                             release.targets.meta.common.version,
                                             release.targets.bytes));
    }
    if (start != ReleaseStart::kTimestamp) {
        HVKIT_RETURN_IF_ERROR(WriteVersioned(context.metadata_dir, "snapshot",
                                             release.snapshot.meta.common.version,
                                             release.snapshot.bytes));
    }
    return WriteTimestamp(context.metadata_dir, release.timestamp.bytes);
}

Status Release(const ReleaseContext& context, ReleaseStart start, PublishedState& state) {
    HVKIT_ASSIGN_OR_RETURN(PublishedState next, PrepareRelease(context, start, state));
    HVKIT_RETURN_IF_ERROR(WriteRelease(context, start, next));
    state = std::move(next);
    return Status::Ok();
}

}  // namespace hvkit::repo
