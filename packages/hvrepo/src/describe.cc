#include "hvrepo/repository.h"
#include "key_store.h"
#include "published_state.h"
#include "staging.h"

namespace hvkit::repo {

Result<RepositoryStatus> Repository::Describe() const {
    HVKIT_ASSIGN_OR_RETURN(PublishedState state, LoadPublishedState(metadata_dir()));
    KeyStore keys(keys_dir_);
    RepositoryStatus status;
    status.dir = dir_;
    status.keys_dir = keys_dir_;
    const tuf::Common* commons[] = {&state.root.meta.common, &state.targets.meta.common,
                                    &state.snapshot.meta.common, &state.timestamp.meta.common};
    for (size_t i = 0; i < kTopLevelRoles.size(); ++i) {
        const std::string role = kTopLevelRoles[i];
        const tuf::RoleKeys& role_keys = state.root.meta.roles.at(role);
        RoleStatus rs;
        rs.role = role;
        rs.version = commons[i]->version;
        rs.expires = commons[i]->expires;
        rs.threshold = role_keys.threshold;
        rs.keyids = role_keys.keyids;
        for (const auto& keyid : role_keys.keyids) {
            if (keys.Has(role, keyid)) rs.local_keyids.push_back(keyid);
        }
        status.roles.push_back(std::move(rs));
    }
    status.targets = state.targets.meta.targets;
    HVKIT_ASSIGN_OR_RETURN(status.staged, LoadStagedTargets(dir_));
    return status;
}

Json ToJson(const RepositoryStatus& status) {
    Json doc;
    doc["repository"] = status.dir;
    doc["keys_dir"] = status.keys_dir;
    Json roles = Json::MakeObject();
    for (const RoleStatus& rs : status.roles) {
        Json role;
        role["version"] = rs.version;
        role["expires"] = tuf::FormatTufTime(rs.expires);
        role["threshold"] = rs.threshold;
        Json keyids = Json::MakeArray();
        for (const auto& id : rs.keyids) keyids.Push(id);
        role["keyids"] = std::move(keyids);
        Json local = Json::MakeArray();
        for (const auto& id : rs.local_keyids) local.Push(id);
        role["local_keyids"] = std::move(local);
        roles[rs.role] = std::move(role);
    }
    doc["roles"] = std::move(roles);
    Json targets = Json::MakeObject();
    for (const auto& [name, file] : status.targets) targets[name] = tuf::ToJson(file);
    doc["targets"] = std::move(targets);
    Json added = Json::MakeObject();
    for (const auto& [name, file] : status.staged.added) added[name] = tuf::ToJson(file);
    doc["staged"]["added"] = std::move(added);
    Json removed = Json::MakeArray();
    for (const auto& name : status.staged.removed) removed.Push(name);
    doc["staged"]["removed"] = std::move(removed);
    return doc;
}

}  // namespace hvkit::repo
