#include "repo_sim.h"

#include "hvkit/fs.h"
#include "hvkit/signed.h"

namespace hvkit::testing {

namespace {

constexpr int64_t kDay = 86400;

tuf::Common MakeCommon(const char* type) {
    return tuf::Common{type, tuf::kSpecVersion, 1, kSimNow + 30 * kDay};
}

}  // namespace

RepoSim::RepoSim() {
    root.common = MakeCommon("root");
    root.consistent_snapshot = true;
    targets.common = MakeCommon("targets");
    snapshot.common = MakeCommon("snapshot");
    timestamp.common = MakeCommon("timestamp");
    for (const char* role : {"root", "timestamp", "snapshot", "targets"}) {
        signers[role] = {PrivateKey::Generate().value()};
        root.keys.emplace(signers[role][0].KeyId(), signers[role][0].public_key());
        root.roles[role] = tuf::RoleKeys{{signers[role][0].KeyId()}, 1};
    }
    PublishRoot();
    PublishTargets();
    PublishSnapshot();
    PublishTimestamp();
}

std::string RepoSim::Sign(const Json& body, const std::vector<PrivateKey>& keys) const {
    SignedEnvelope env;
    env.signed_body = body;
    for (const auto& key : keys) (void)env.Sign(key);
    return DumpJson(env.ToJson());
}

void RepoSim::PublishRoot(const std::vector<PrivateKey>& extra_signers) {
    std::vector<PrivateKey> keys = signers["root"];
    keys.insert(keys.end(), extra_signers.begin(), extra_signers.end());
    files[std::to_string(root.common.version) + ".root.json"] = Sign(tuf::ToJson(root), keys);
}

void RepoSim::PublishTargets() {
    std::string bytes = Sign(tuf::ToJson(targets), signers["targets"]);
    files[std::to_string(targets.common.version) + ".targets.json"] = bytes;
    snapshot.meta["targets.json"] = tuf::MetaFile{targets.common.version, std::nullopt, {}};
    for (const auto& [name, meta] : delegated) {
        files[std::to_string(meta.common.version) + "." + name + ".json"] =
            Sign(tuf::ToJson(meta), signers[name]);
        snapshot.meta[name + ".json"] = tuf::MetaFile{meta.common.version, std::nullopt, {}};
    }
}

void RepoSim::PublishSnapshot() {
    std::string bytes = Sign(tuf::ToJson(snapshot), signers["snapshot"]);
    files[std::to_string(snapshot.common.version) + ".snapshot.json"] = bytes;
    timestamp.snapshot = tuf::MetaFile{snapshot.common.version,
                                       static_cast<int64_t>(bytes.size()),
                                       {{"sha256", Sha256::HexOf(bytes)}}};
}

void RepoSim::PublishTimestamp() {
    files["timestamp.json"] = Sign(tuf::ToJson(timestamp), signers["timestamp"]);
}

void RepoSim::Release() {
    ++targets.common.version;
    ++snapshot.common.version;
    ++timestamp.common.version;
    PublishTargets();
    PublishSnapshot();
    PublishTimestamp();
}

void RepoSim::AddTarget(const std::string& path, const std::string& content) {
    std::string hash = Sha256::HexOf(content);
    targets.targets[path] =
        tuf::TargetFile{static_cast<int64_t>(content.size()), {{"sha256", hash}}, Json()};
    std::string name = tuf::ConsistentTargetPath(path, hash);
    target_files[name] = content;
}

void RepoSim::RotateKeys(const std::string& role, int count, int64_t threshold) {
    for (const auto& id : root.roles[role].keyids) root.keys.erase(id);
    signers[role].clear();
    root.roles[role] = tuf::RoleKeys{{}, threshold};
    for (int i = 0; i < count; ++i) {
        signers[role].push_back(PrivateKey::Generate().value());
        root.keys.emplace(signers[role].back().KeyId(), signers[role].back().public_key());
        root.roles[role].keyids.push_back(signers[role].back().KeyId());
    }
}

Result<std::string> SimFetcher::Lookup(const std::string& url) const {
    const std::string meta = "http://sim/metadata/";
    const std::string tgt = "http://sim/targets/";
    if (url.rfind(meta, 0) == 0) {
        auto it = sim_.files.find(url.substr(meta.size()));
        if (it != sim_.files.end()) return it->second;
    } else if (url.rfind(tgt, 0) == 0) {
        auto it = sim_.target_files.find(url.substr(tgt.size()));
        if (it != sim_.target_files.end()) return it->second;
    }
    return Error(ErrorCode::kNotFound, "GET " + url + ": 404 Not Found");
}

Result<std::string> SimFetcher::Fetch(const std::string& url, const FetchOptions& options) {
    requests.push_back(url);
    caps[url] = options.max_bytes;
    HVKIT_ASSIGN_OR_RETURN(std::string body, Lookup(url));
    if (static_cast<int64_t>(body.size()) > options.max_bytes) {
        return Error(ErrorCode::kTooLarge, "GET " + url + ": response exceeds the limit of " +
                                               std::to_string(options.max_bytes) + " bytes");
    }
    return body;
}

Status SimFetcher::FetchToFile(const std::string& url, const std::string& path,
                               const FetchOptions& options) {
    HVKIT_ASSIGN_OR_RETURN(std::string body, Fetch(url, options));
    return WriteFileAtomic(path, body);
}

}  // namespace hvkit::testing
