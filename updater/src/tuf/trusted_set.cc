#include "hvkit/tuf/trusted_set.h"

namespace hvkit::tuf {

namespace {

Result<SignedEnvelope> ParseEnvelope(std::string_view bytes, std::string_view what) {
    HVKIT_ASSIGN_OR_RETURN(Json doc, ParseJson(bytes, what));
    return SignedEnvelope::FromJson(doc, what);
}

Status VerifyRole(const SignedEnvelope& env, const KeyRing& keys, const RoleKeys& role,
                  std::string_view what) {
    return VerifyThreshold(env, keys, role.keyids, role.threshold, what);
}

Status Expired(std::string_view what, int64_t expires) {
    return Error(ErrorCode::kExpired,
                 std::string(what) + " expired at " + FormatTufTime(expires) +
                     " (freeze attack or stale mirror; the repository must re-sign it)");
}

}  // namespace

Result<TrustedSet> TrustedSet::Create(std::string_view root_bytes, int64_t reference_time) {
    TrustedSet set;
    set.reference_time_ = reference_time;
    HVKIT_ASSIGN_OR_RETURN(SignedEnvelope env, ParseEnvelope(root_bytes, "trusted root"));
    HVKIT_ASSIGN_OR_RETURN(set.root_.meta, ParseRoot(env.signed_body, "trusted root"));
    HVKIT_RETURN_IF_ERROR(
        VerifyRole(env, set.root_.meta.keys, set.root_.meta.roles.at("root"), "trusted root"));
    set.root_.bytes = std::string(root_bytes);
    return set;
}

Status TrustedSet::UpdateRoot(std::string_view bytes) {
    if (timestamp_) {
        return Error(ErrorCode::kConflict, "cannot update root after the timestamp is trusted");
    }
    const int64_t expected = root_.meta.common.version + 1;
    const std::string what = "root version " + std::to_string(expected);
    HVKIT_ASSIGN_OR_RETURN(SignedEnvelope env, ParseEnvelope(bytes, what));
    HVKIT_ASSIGN_OR_RETURN(RootMeta next, ParseRoot(env.signed_body, what));
    HVKIT_RETURN_IF_ERROR(VerifyRole(env, root_.meta.keys, root_.meta.roles.at("root"),
                                     what + " (threshold of the previous root's keys)"));
    if (next.common.version != expected) {
        return Error(ErrorCode::kRollback, what + ": file claims version " +
                                               std::to_string(next.common.version) +
                                               ", expected exactly " + std::to_string(expected));
    }
    HVKIT_RETURN_IF_ERROR(
        VerifyRole(env, next.keys, next.roles.at("root"), what + " (threshold of its own keys)"));
    root_.meta = std::move(next);
    root_.bytes = std::string(bytes);
    return Status::Ok();
}

Status TrustedSet::CheckRootNotExpired() const {
    if (root_.meta.common.expires <= reference_time_) {
        return Expired("root version " + std::to_string(root_.meta.common.version),
                       root_.meta.common.expires);
    }
    return Status::Ok();
}

Result<bool> TrustedSet::UpdateTimestamp(std::string_view bytes) {
    if (snapshot_) {
        return Error(ErrorCode::kConflict,
                     "cannot update the timestamp after the snapshot is trusted");
    }
    HVKIT_RETURN_IF_ERROR(CheckRootNotExpired());
    HVKIT_ASSIGN_OR_RETURN(SignedEnvelope env, ParseEnvelope(bytes, "timestamp"));
    HVKIT_ASSIGN_OR_RETURN(TimestampMeta next, ParseTimestamp(env.signed_body, "timestamp"));
    HVKIT_RETURN_IF_ERROR(
        VerifyRole(env, root_.meta.keys, root_.meta.roles.at("timestamp"), "timestamp"));
    if (timestamp_) {
        const auto& old = timestamp_->meta;
        if (next.common.version < old.common.version) {
            return Error(ErrorCode::kRollback,
                         "timestamp version " + std::to_string(next.common.version) +
                             " is older than the trusted version " +
                             std::to_string(old.common.version) + " (rollback attack)");
        }
        if (next.common.version == old.common.version) return false;
        if (next.snapshot.version < old.snapshot.version) {
            return Error(ErrorCode::kRollback,
                         "timestamp lists snapshot version " +
                             std::to_string(next.snapshot.version) + ", older than the trusted " +
                             std::to_string(old.snapshot.version) + " (rollback attack)");
        }
    }
    // Kept even when expired: it still protects against rollback (TUF 5.4.4).
    timestamp_ = Trusted<TimestampMeta>{std::move(next), std::string(bytes)};
    HVKIT_RETURN_IF_ERROR(CheckFinalTimestamp());
    return true;
}

Status TrustedSet::CheckFinalTimestamp() const {
    if (timestamp_->meta.common.expires <= reference_time_) {
        return Expired("timestamp version " + std::to_string(timestamp_->meta.common.version),
                       timestamp_->meta.common.expires);
    }
    return Status::Ok();
}

Status TrustedSet::UpdateSnapshot(std::string_view bytes, bool from_local_store) {
    if (!timestamp_)
        return Error(ErrorCode::kConflict, "cannot update the snapshot before the timestamp");
    if (targets_.count("targets")) {
        return Error(ErrorCode::kConflict, "cannot update the snapshot after targets are trusted");
    }
    HVKIT_RETURN_IF_ERROR(CheckFinalTimestamp());
    const MetaFile& pinned = timestamp_->meta.snapshot;
    if (!from_local_store) {
        HVKIT_RETURN_IF_ERROR(
            VerifyLengthAndHashes(bytes, pinned.length, pinned.hashes, "snapshot"));
    }
    HVKIT_ASSIGN_OR_RETURN(SignedEnvelope env, ParseEnvelope(bytes, "snapshot"));
    HVKIT_ASSIGN_OR_RETURN(SnapshotMeta next, ParseSnapshot(env.signed_body, "snapshot"));
    HVKIT_RETURN_IF_ERROR(
        VerifyRole(env, root_.meta.keys, root_.meta.roles.at("snapshot"), "snapshot"));
    if (snapshot_) {
        for (const auto& [name, old] : snapshot_->meta.meta) {
            auto it = next.meta.find(name);
            if (it == next.meta.end()) {
                return Error(ErrorCode::kRollback,
                             "snapshot no longer lists " + name + " (rollback attack)");
            }
            if (it->second.version < old.version) {
                return Error(ErrorCode::kRollback,
                             "snapshot lists " + name + " version " +
                                 std::to_string(it->second.version) + ", older than the trusted " +
                                 std::to_string(old.version) + " (rollback attack)");
            }
        }
    }
    // Set before the final checks so that an expired or mismatched local
    // snapshot still guards against rollback of the roles it lists.
    snapshot_ = Trusted<SnapshotMeta>{std::move(next), std::string(bytes)};
    return CheckFinalSnapshot();
}

Status TrustedSet::CheckFinalSnapshot() const {
    const auto& snap = snapshot_->meta;
    if (snap.common.expires <= reference_time_) {
        return Expired("snapshot version " + std::to_string(snap.common.version),
                       snap.common.expires);
    }
    if (snap.common.version != timestamp_->meta.snapshot.version) {
        return Error(ErrorCode::kRollback, "snapshot version " +
                                               std::to_string(snap.common.version) +
                                               " is not the version " +
                                               std::to_string(timestamp_->meta.snapshot.version) +
                                               " the timestamp lists (mix-and-match attack)");
    }
    return Status::Ok();
}

Status TrustedSet::UpdateTargets(std::string_view bytes, const std::string& role,
                                 const std::string& parent) {
    if (!snapshot_)
        return Error(ErrorCode::kConflict, "cannot load " + role + " before the snapshot");
    HVKIT_RETURN_IF_ERROR(CheckFinalSnapshot());

    KeyRing keys;
    RoleKeys role_keys;
    if (parent == "root") {
        keys = root_.meta.keys;
        role_keys = root_.meta.roles.at("targets");
    } else {
        const Trusted<TargetsMeta>* delegator = targets(parent);
        if (delegator == nullptr || !delegator->meta.delegations) {
            return Error(ErrorCode::kConflict, "cannot load " + role + ": delegating role " +
                                                   parent + " is not trusted or delegates nothing");
        }
        const DelegatedRole* found = nullptr;
        for (const auto& r : delegator->meta.delegations->roles) {
            if (r.name == role) found = &r;
        }
        if (found == nullptr) {
            return Error(ErrorCode::kNotFound, parent + " does not delegate to " + role);
        }
        keys = delegator->meta.delegations->keys;
        role_keys = found->keys;
    }

    const std::string file = role + ".json";
    auto pinned = snapshot_->meta.meta.find(file);
    if (pinned == snapshot_->meta.meta.end()) {
        return Error(ErrorCode::kNotFound, "snapshot does not list " + file);
    }
    HVKIT_RETURN_IF_ERROR(
        VerifyLengthAndHashes(bytes, pinned->second.length, pinned->second.hashes, role));
    HVKIT_ASSIGN_OR_RETURN(SignedEnvelope env, ParseEnvelope(bytes, role));
    HVKIT_ASSIGN_OR_RETURN(TargetsMeta next, ParseTargets(env.signed_body, role));
    HVKIT_RETURN_IF_ERROR(VerifyRole(env, keys, role_keys, role));
    if (next.common.version != pinned->second.version) {
        return Error(ErrorCode::kRollback,
                     role + " version " + std::to_string(next.common.version) +
                         " is not the version " + std::to_string(pinned->second.version) +
                         " the snapshot lists (mix-and-match attack)");
    }
    if (next.common.expires <= reference_time_) {
        return Expired(role + " version " + std::to_string(next.common.version),
                       next.common.expires);
    }
    targets_[role] = Trusted<TargetsMeta>{std::move(next), std::string(bytes)};
    return Status::Ok();
}

const Trusted<TargetsMeta>* TrustedSet::targets(const std::string& role) const {
    auto it = targets_.find(role);
    return it == targets_.end() ? nullptr : &it->second;
}

}  // namespace hvkit::tuf
