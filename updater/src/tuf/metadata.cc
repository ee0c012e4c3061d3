#include "hvkit/tuf/metadata.h"

#include "hvkit/crypto.h"

namespace hvkit::tuf {

namespace {

std::string Ctx(std::string_view what, std::string_view detail) {
    return std::string(what) + " " + std::string(detail);
}

Result<Common> ParseCommon(const Json& body, std::string_view expected_type,
                           std::string_view what) {
    Common c;
    HVKIT_ASSIGN_OR_RETURN(c.type, JsonString(body, "_type", what));
    if (c.type != expected_type) {
        return Error(ErrorCode::kMalformed, std::string(what) + ": _type is \"" + c.type +
                                                "\", expected \"" + std::string(expected_type) +
                                                "\"");
    }
    HVKIT_ASSIGN_OR_RETURN(c.spec_version, JsonString(body, "spec_version", what));
    // Accept any 1.x spec version; refuse a different major version.
    auto dot = c.spec_version.find('.');
    if (dot == std::string::npos || c.spec_version.substr(0, dot) != "1" ||
        c.spec_version.find('.', dot + 1) == std::string::npos) {
        return Error(ErrorCode::kMalformed, std::string(what) + ": unsupported spec_version \"" +
                                                c.spec_version + "\" (hvkit reads TUF 1.x)");
    }
    HVKIT_ASSIGN_OR_RETURN(c.version, JsonInt(body, "version", what));
    if (c.version < 1) {
        return Error(ErrorCode::kMalformed, std::string(what) + ": version must be at least 1");
    }
    HVKIT_ASSIGN_OR_RETURN(std::string expires, JsonString(body, "expires", what));
    HVKIT_ASSIGN_OR_RETURN(c.expires, ParseTufTime(expires, what));
    return c;
}

void PutCommon(Json& body, const Common& c) {
    body["_type"] = c.type;
    body["spec_version"] = c.spec_version;
    body["version"] = c.version;
    body["expires"] = FormatTufTime(c.expires);
}

Result<RoleKeys> ParseRoleKeys(const Json& obj, std::string_view what) {
    RoleKeys rk;
    HVKIT_ASSIGN_OR_RETURN(const Json* ids, JsonMember(obj, "keyids", Json::Type::kArray, what));
    for (const Json& id : ids->as_array()) {
        if (!id.is_string())
            return Error(ErrorCode::kMalformed, std::string(what) + ": keyids must be strings");
        for (const auto& seen : rk.keyids) {
            if (seen == id.as_string()) {
                return Error(ErrorCode::kMalformed,
                             std::string(what) + ": key ID " + seen + " is listed twice");
            }
        }
        rk.keyids.push_back(id.as_string());
    }
    HVKIT_ASSIGN_OR_RETURN(rk.threshold, JsonInt(obj, "threshold", what));
    if (rk.threshold < 1) {
        return Error(ErrorCode::kMalformed, std::string(what) + ": threshold must be at least 1");
    }
    return rk;
}

Json ToJson(const RoleKeys& rk) {
    Json obj;
    Json ids = Json::MakeArray();
    for (const auto& id : rk.keyids) ids.Push(id);
    obj["keyids"] = std::move(ids);
    obj["threshold"] = rk.threshold;
    return obj;
}

Result<KeyRing> ParseKeys(const Json& keys, std::string_view what) {
    KeyRing ring;
    for (const auto& [keyid, key] : keys.as_object()) {
        // Keys of unsupported types are skipped, not fatal: a role may list them
        // and still reach its threshold with supported ones (TUF 1.0, 4.2).
        auto pub = PublicKey::FromTufJson(key, Ctx(what, "key " + keyid));
        if (pub.ok())
            ring.emplace(keyid, *pub);
        else if (pub.status().message().find("unsupported key type") == std::string::npos) {
            return pub.status();
        }
    }
    return ring;
}

Json ToJson(const KeyRing& ring) {
    Json keys = Json::MakeObject();
    for (const auto& [keyid, key] : ring) keys[keyid] = key.ToTufJson();
    return keys;
}

Result<std::map<std::string, std::string>> ParseHashes(const Json& obj, std::string_view what) {
    std::map<std::string, std::string> hashes;
    for (const auto& [alg, value] : obj.as_object()) {
        if (!value.is_string()) {
            return Error(ErrorCode::kMalformed,
                         std::string(what) + ": hash " + alg + " must be a string");
        }
        hashes.emplace(alg, value.as_string());
    }
    if (hashes.empty()) {
        return Error(ErrorCode::kMalformed, std::string(what) + ": hashes must not be empty");
    }
    return hashes;
}

Json HashesToJson(const std::map<std::string, std::string>& hashes) {
    Json obj = Json::MakeObject();
    for (const auto& [alg, hex] : hashes) obj[alg] = hex;
    return obj;
}

Result<MetaFile> ParseMetaFile(const Json& obj, std::string_view what) {
    MetaFile mf;
    HVKIT_ASSIGN_OR_RETURN(mf.version, JsonInt(obj, "version", what));
    if (mf.version < 1)
        return Error(ErrorCode::kMalformed, std::string(what) + ": version must be at least 1");
    if (const Json* len = obj.Find("length")) {
        if (!len->is_int() || len->as_int() < 0) {
            return Error(ErrorCode::kMalformed,
                         std::string(what) + ": length must be a non-negative integer");
        }
        mf.length = len->as_int();
    }
    if (obj.Find("hashes")) {
        HVKIT_ASSIGN_OR_RETURN(const Json* h, JsonMember(obj, "hashes", Json::Type::kObject, what));
        HVKIT_ASSIGN_OR_RETURN(mf.hashes, ParseHashes(*h, what));
    }
    return mf;
}

Result<std::map<std::string, MetaFile>> ParseMetaMap(const Json& body, std::string_view what) {
    HVKIT_ASSIGN_OR_RETURN(const Json* meta, JsonMember(body, "meta", Json::Type::kObject, what));
    std::map<std::string, MetaFile> out;
    for (const auto& [name, entry] : meta->as_object()) {
        HVKIT_ASSIGN_OR_RETURN(MetaFile mf, ParseMetaFile(entry, Ctx(what, "meta " + name)));
        out.emplace(name, std::move(mf));
    }
    return out;
}

Result<Delegations> ParseDelegations(const Json& obj, std::string_view what) {
    Delegations d;
    HVKIT_ASSIGN_OR_RETURN(const Json* keys, JsonMember(obj, "keys", Json::Type::kObject, what));
    HVKIT_ASSIGN_OR_RETURN(d.keys, ParseKeys(*keys, what));
    HVKIT_ASSIGN_OR_RETURN(const Json* roles, JsonMember(obj, "roles", Json::Type::kArray, what));
    for (const Json& role : roles->as_array()) {
        DelegatedRole r;
        HVKIT_ASSIGN_OR_RETURN(r.name, JsonString(role, "name", what));
        std::string ctx = Ctx(what, "delegated role \"" + r.name + "\"");
        for (const auto& other : d.roles) {
            if (other.name == r.name) {
                return Error(ErrorCode::kMalformed, ctx + " is delegated twice");
            }
        }
        if (r.name == "root" || r.name == "timestamp" || r.name == "snapshot" ||
            r.name == "targets") {
            return Error(ErrorCode::kMalformed,
                         ctx + ": a top-level role name cannot be delegated");
        }
        HVKIT_ASSIGN_OR_RETURN(r.keys, ParseRoleKeys(role, ctx));
        if (const Json* t = role.Find("terminating")) {
            if (!t->is_bool())
                return Error(ErrorCode::kMalformed, ctx + ": terminating must be a boolean");
            r.terminating = t->as_bool();
        }
        const Json* paths = role.Find("paths");
        const Json* prefixes = role.Find("path_hash_prefixes");
        if ((paths != nullptr) == (prefixes != nullptr)) {
            return Error(ErrorCode::kMalformed,
                         ctx + ": exactly one of paths and path_hash_prefixes is required");
        }
        const Json* list = paths ? paths : prefixes;
        if (!list->is_array())
            return Error(ErrorCode::kMalformed, ctx + ": paths must be an array");
        for (const Json& p : list->as_array()) {
            if (!p.is_string())
                return Error(ErrorCode::kMalformed, ctx + ": paths must be strings");
            (paths ? r.paths : r.path_hash_prefixes).push_back(p.as_string());
        }
        d.roles.push_back(std::move(r));
    }
    return d;
}

}  // namespace

const char* RoleName(Role role) {
    switch (role) {
        case Role::kRoot:
            return "root";
        case Role::kTimestamp:
            return "timestamp";
        case Role::kSnapshot:
            return "snapshot";
        case Role::kTargets:
            return "targets";
    }
    return "?";
}

Result<RootMeta> ParseRoot(const Json& body, std::string_view what) {
    RootMeta root;
    HVKIT_ASSIGN_OR_RETURN(root.common, ParseCommon(body, "root", what));
    HVKIT_ASSIGN_OR_RETURN(const Json* cs,
                           JsonMember(body, "consistent_snapshot", Json::Type::kBool, what));
    root.consistent_snapshot = cs->as_bool();
    HVKIT_ASSIGN_OR_RETURN(const Json* keys, JsonMember(body, "keys", Json::Type::kObject, what));
    HVKIT_ASSIGN_OR_RETURN(root.keys, ParseKeys(*keys, what));
    HVKIT_ASSIGN_OR_RETURN(const Json* roles, JsonMember(body, "roles", Json::Type::kObject, what));
    for (const char* name : {"root", "timestamp", "snapshot", "targets"}) {
        std::string ctx = Ctx(what, std::string("role ") + name);
        HVKIT_ASSIGN_OR_RETURN(const Json* role,
                               JsonMember(*roles, name, Json::Type::kObject, what));
        HVKIT_ASSIGN_OR_RETURN(RoleKeys rk, ParseRoleKeys(*role, ctx));
        root.roles.emplace(name, std::move(rk));
    }
    return root;
}

Result<TimestampMeta> ParseTimestamp(const Json& body, std::string_view what) {
    TimestampMeta ts;
    HVKIT_ASSIGN_OR_RETURN(ts.common, ParseCommon(body, "timestamp", what));
    HVKIT_ASSIGN_OR_RETURN(auto meta, ParseMetaMap(body, what));
    auto it = meta.find("snapshot.json");
    if (it == meta.end() || meta.size() != 1) {
        return Error(ErrorCode::kMalformed,
                     std::string(what) + ": meta must list exactly snapshot.json");
    }
    ts.snapshot = it->second;
    return ts;
}

Result<SnapshotMeta> ParseSnapshot(const Json& body, std::string_view what) {
    SnapshotMeta snap;
    HVKIT_ASSIGN_OR_RETURN(snap.common, ParseCommon(body, "snapshot", what));
    HVKIT_ASSIGN_OR_RETURN(snap.meta, ParseMetaMap(body, what));
    if (!snap.meta.count("targets.json")) {
        return Error(ErrorCode::kMalformed,
                     std::string(what) + ": meta does not list targets.json");
    }
    return snap;
}

Result<TargetsMeta> ParseTargets(const Json& body, std::string_view what) {
    TargetsMeta tm;
    HVKIT_ASSIGN_OR_RETURN(tm.common, ParseCommon(body, "targets", what));
    HVKIT_ASSIGN_OR_RETURN(const Json* targets,
                           JsonMember(body, "targets", Json::Type::kObject, what));
    for (const auto& [path, entry] : targets->as_object()) {
        std::string ctx = Ctx(what, "target \"" + path + "\"");
        TargetFile tf;
        HVKIT_ASSIGN_OR_RETURN(tf.length, JsonInt(entry, "length", ctx));
        if (tf.length < 0)
            return Error(ErrorCode::kMalformed, ctx + ": length must not be negative");
        HVKIT_ASSIGN_OR_RETURN(const Json* h,
                               JsonMember(entry, "hashes", Json::Type::kObject, ctx));
        HVKIT_ASSIGN_OR_RETURN(tf.hashes, ParseHashes(*h, ctx));
        if (const Json* custom = entry.Find("custom")) tf.custom = *custom;
        tm.targets.emplace(path, std::move(tf));
    }
    if (const Json* d = body.Find("delegations")) {
        HVKIT_ASSIGN_OR_RETURN(tm.delegations, ParseDelegations(*d, Ctx(what, "delegations")));
    }
    return tm;
}

Json ToJson(const RootMeta& root) {
    Json body;
    PutCommon(body, root.common);
    body["consistent_snapshot"] = root.consistent_snapshot;
    body["keys"] = ToJson(root.keys);
    Json roles = Json::MakeObject();
    for (const auto& [name, rk] : root.roles) roles[name] = ToJson(rk);
    body["roles"] = std::move(roles);
    return body;
}

Json ToJson(const MetaFile& meta) {
    Json obj;
    obj["version"] = meta.version;
    if (meta.length) obj["length"] = *meta.length;
    if (!meta.hashes.empty()) obj["hashes"] = HashesToJson(meta.hashes);
    return obj;
}

Json ToJson(const TimestampMeta& ts) {
    Json body;
    PutCommon(body, ts.common);
    body["meta"]["snapshot.json"] = ToJson(ts.snapshot);
    return body;
}

Json ToJson(const SnapshotMeta& snap) {
    Json body;
    PutCommon(body, snap.common);
    Json meta = Json::MakeObject();
    for (const auto& [name, mf] : snap.meta) meta[name] = ToJson(mf);
    body["meta"] = std::move(meta);
    return body;
}

Json ToJson(const TargetFile& target) {
    Json obj;
    obj["length"] = target.length;
    obj["hashes"] = HashesToJson(target.hashes);
    if (!target.custom.is_null()) obj["custom"] = target.custom;
    return obj;
}

Json ToJson(const TargetsMeta& tm) {
    Json body;
    PutCommon(body, tm.common);
    Json targets = Json::MakeObject();
    for (const auto& [path, tf] : tm.targets) targets[path] = ToJson(tf);
    body["targets"] = std::move(targets);
    if (tm.delegations) {
        Json d;
        d["keys"] = ToJson(tm.delegations->keys);
        Json roles = Json::MakeArray();
        for (const auto& r : tm.delegations->roles) {
            Json role = ToJson(r.keys);
            role["name"] = r.name;
            role["terminating"] = r.terminating;
            Json list = Json::MakeArray();
            for (const auto& p : r.paths.empty() ? r.path_hash_prefixes : r.paths) list.Push(p);
            role[r.paths.empty() && !r.path_hash_prefixes.empty() ? "path_hash_prefixes"
                                                                  : "paths"] = std::move(list);
            roles.Push(std::move(role));
        }
        d["roles"] = std::move(roles);
        body["delegations"] = std::move(d);
    }
    return body;
}

Status VerifyLengthAndHashes(std::string_view data, std::optional<int64_t> length,
                             const std::map<std::string, std::string>& hashes,
                             std::string_view what) {
    if (length && static_cast<int64_t>(data.size()) != *length) {
        return Error(ErrorCode::kHashMismatch, std::string(what) + ": length is " +
                                                   std::to_string(data.size()) +
                                                   " bytes, expected " + std::to_string(*length));
    }
    int checked = 0;
    for (const auto& [alg, expected] : hashes) {
        auto actual = DigestHex(alg, data);
        if (!actual.ok()) continue;  // unknown algorithms are skipped; a known one must bind
        ++checked;
        if (*actual != expected) {
            return Error(ErrorCode::kHashMismatch, std::string(what) + ": " + alg +
                                                       " hash does not match the trusted metadata");
        }
    }
    if (!hashes.empty() && checked == 0) {
        return Error(ErrorCode::kHashMismatch,
                     std::string(what) +
                         ": none of the listed hash algorithms is supported (sha256, sha512)");
    }
    return Status::Ok();
}

}  // namespace hvkit::tuf
