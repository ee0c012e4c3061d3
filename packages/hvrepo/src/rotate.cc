// Root changes: Repository::RotateKey and RenewRoot. A new root version is
// signed by a threshold of the previous root's root keys and of its own
// (TUF 1.0, 5.3.4), so every client that trusts version N accepts N+1.
#include <algorithm>
#include <set>

#include "hvkit/fs.h"
#include "hvrepo/repository.h"
#include "key_store.h"
#include "published_state.h"
#include "release.h"
#include "signing.h"

namespace hvkit::repo {

namespace {

bool IsTopLevelRole(const std::string& role) {
    return std::find(kTopLevelRoles.begin(), kTopLevelRoles.end(), role) != kTopLevelRoles.end();
}

std::string JoinShort(const std::vector<std::string>& ids) {
    std::string out;
    for (const auto& id : ids) out += (out.empty() ? "" : ", ") + id.substr(0, 16);
    return out.empty() ? "none" : out;
}

// The one key ID of (role_keys) that (wanted) names in full or by a prefix.
Result<std::string> ResolveKeyId(const std::string& wanted, const std::string& role,
                                 const tuf::RoleKeys& role_keys) {
    std::vector<std::string> matches;
    for (const auto& id : role_keys.keyids) {
        if (wanted.size() >= 8 && id.compare(0, wanted.size(), wanted) == 0) matches.push_back(id);
    }
    if (matches.size() == 1) return matches[0];
    if (matches.empty()) {
        return Error(ErrorCode::kNotFound,
                     "--revoke " + wanted + ": no " + role + " key has this ID (at least 8 hex " +
                         "digits; " + role + " keys: " + JoinShort(role_keys.keyids) + ")");
    }
    return Error(
        ErrorCode::kInvalidArgument,
        "--revoke " + wanted + ": the prefix matches several " + role + " keys; give more digits");
}

// The changed key list of the rotated role, and the keys to generate for it.
struct KeyChange {
    std::vector<std::string> revoked;
    std::vector<PrivateKey> added;
    tuf::RoleKeys role_keys;
};

Result<KeyChange> PlanKeyChange(const KeyRotation& rotation, const tuf::RoleKeys& current) {
    KeyChange change;
    const bool replace_all = rotation.revoke.empty() && rotation.add == 0 && !rotation.threshold;
    int add = rotation.add;
    if (replace_all) {
        change.revoked = current.keyids;
        add = static_cast<int>(current.keyids.size());
    }
    for (const auto& wanted : rotation.revoke) {
        HVKIT_ASSIGN_OR_RETURN(std::string id, ResolveKeyId(wanted, rotation.role, current));
        if (std::find(change.revoked.begin(), change.revoked.end(), id) == change.revoked.end()) {
            change.revoked.push_back(id);
        }
    }
    if (add < 0 || add > 16) {
        return Error(ErrorCode::kInvalidArgument, "--add: a rotation adds 0 to 16 keys");
    }
    for (const auto& id : current.keyids) {
        if (std::find(change.revoked.begin(), change.revoked.end(), id) == change.revoked.end()) {
            change.role_keys.keyids.push_back(id);
        }
    }
    const int64_t count = static_cast<int64_t>(change.role_keys.keyids.size()) + add;
    change.role_keys.threshold = rotation.threshold.value_or(current.threshold);
    if (count == 0) {
        return Error(ErrorCode::kInvalidArgument, "refusing to leave the " + rotation.role +
                                                      " role without keys: add one with --add");
    }
    if (change.role_keys.threshold < 1 || change.role_keys.threshold > count) {
        return Error(ErrorCode::kInvalidArgument,
                     "threshold " + std::to_string(change.role_keys.threshold) + " of the " +
                         rotation.role + " role is impossible with " + std::to_string(count) +
                         " key(s): add keys with --add or set --threshold");
    }
    for (int i = 0; i < add; ++i) {
        HVKIT_ASSIGN_OR_RETURN(PrivateKey key, PrivateKey::Generate());
        change.role_keys.keyids.push_back(key.KeyId());
        change.added.push_back(std::move(key));
    }
    return change;
}

// The public keys root must list: exactly those some role uses.
KeyRing KeysInUse(const tuf::RootMeta& root, const KeyRing& known) {
    KeyRing ring;
    for (const auto& [role, role_keys] : root.roles) {
        for (const auto& id : role_keys.keyids) ring.emplace(id, known.at(id));
    }
    return ring;
}

// The release that must follow a key change of (role): the role itself and
// every role that pins it. Root changes need none.
std::optional<ReleaseStart> ReleaseAfterRotation(const std::string& role) {
    if (role == "targets") return ReleaseStart::kTargets;
    if (role == "snapshot") return ReleaseStart::kSnapshot;
    if (role == "timestamp") return ReleaseStart::kTimestamp;
    return std::nullopt;
}

std::vector<std::string> ResignedRoles(ReleaseStart start) {
    switch (start) {
        case ReleaseStart::kTargets:
            return {"targets", "snapshot", "timestamp"};
        case ReleaseStart::kSnapshot:
            return {"snapshot", "timestamp"};
        case ReleaseStart::kTimestamp:
            return {"timestamp"};
    }
    return {};
}

}  // namespace

Result<RotationReport> Repository::RotateKey(const KeyRotation& rotation) {
    if (!IsTopLevelRole(rotation.role)) {
        return Error(ErrorCode::kInvalidArgument,
                     "--role " + rotation.role + ": use one of root, targets, snapshot, timestamp");
    }
    return ChangeRoot(&rotation);
}

Result<RotationReport> Repository::RenewRoot() {
    return ChangeRoot(nullptr);
}

Result<RotationReport> Repository::ChangeRoot(const KeyRotation* rotation) {
    HVKIT_ASSIGN_OR_RETURN(PublishedState state, LoadPublishedState(metadata_dir()));
    const tuf::RootMeta& previous = state.root.meta;
    KeyStore keys(keys_dir_);

    tuf::RootMeta next = previous;
    next.common.version += 1;
    next.common.spec_version = tuf::kSpecVersion;
    next.common.expires = ExpiryFor("root");
    KeyChange change;
    if (rotation != nullptr) {
        HVKIT_ASSIGN_OR_RETURN(change, PlanKeyChange(*rotation, previous.roles.at(rotation->role)));
        next.roles[rotation->role] = change.role_keys;
        KeyRing known = previous.keys;
        for (const auto& key : change.added) known.emplace(key.KeyId(), key.public_key());
        next.keys = KeysInUse(next, known);
    }

    // Signers: the previous root keys at hand, plus new root keys.
    const tuf::RoleKeys& old_root = previous.roles.at("root");
    HVKIT_ASSIGN_OR_RETURN(std::vector<PrivateKey> signers,
                           keys.LoadAvailable("root", old_root.keyids));
    if (static_cast<int64_t>(signers.size()) < old_root.threshold) {
        return MissingKeysError("root", old_root.threshold, signers.size(), keys)
            .WithContext("signing root version " + std::to_string(next.common.version) +
                         " needs the keys of version " + std::to_string(previous.common.version));
    }
    if (rotation != nullptr && rotation->role == "root") {
        signers.insert(signers.end(), change.added.begin(), change.added.end());
    }
    HVKIT_ASSIGN_OR_RETURN(SignedEnvelope envelope, SignWith(tuf::ToJson(next), signers));
    const std::string what = "root version " + std::to_string(next.common.version);
    HVKIT_RETURN_IF_ERROR(VerifyThreshold(envelope, previous.keys, old_root.keyids,
                                          old_root.threshold, what + " (previous root's keys)"));
    const tuf::RoleKeys& new_root = next.roles.at("root");
    HVKIT_RETURN_IF_ERROR(
        VerifyThreshold(envelope, next.keys, new_root.keyids, new_root.threshold, what)
            .WithContext("the new root keys must reach their own threshold: pass --keys DIR with "
                         "the remaining root keys"));

    // New keys are stored before any metadata names them, and every role
    // the rotation re-signs is signed before anything is published.
    RotationReport report;
    report.root_version = next.common.version;
    const std::string role = rotation != nullptr ? rotation->role : "root";
    for (const auto& key : change.added) {
        HVKIT_RETURN_IF_ERROR(keys.Save(role, key));
        report.added_keyids.push_back(key.KeyId());
    }
    state.root = {next, MetadataFileBytes(envelope)};
    ReleaseContext context{metadata_dir(), &keys,
                           [this](const std::string& r) { return ExpiryFor(r); }};
    const std::optional<ReleaseStart> start = ReleaseAfterRotation(role);
    PublishedState release = state;
    if (start) {
        HVKIT_ASSIGN_OR_RETURN(release, PrepareRelease(context, *start, state));
        report.resigned_roles = ResignedRoles(*start);
    }
    HVKIT_RETURN_IF_ERROR(WriteRoot(metadata_dir(), next.common.version, state.root.bytes));
    if (start) HVKIT_RETURN_IF_ERROR(WriteRelease(context, *start, release));
    for (const auto& id : change.revoked) {
        HVKIT_RETURN_IF_ERROR(keys.Retire(role, id));
        report.revoked_keyids.push_back(id);
    }
    return report;
}

}  // namespace hvkit::repo
