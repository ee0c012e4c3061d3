#include "hvkit/tuf/client.h"

#include <unistd.h>

#include <ctime>
#include <set>

#include "hvkit/crypto.h"
#include "hvkit/fs.h"
#include "hvkit/url.h"

namespace hvkit::tuf {

namespace {

std::string WithSlash(std::string url) {
    if (!url.empty() && url.back() != '/') url += '/';
    return url;
}

// Hashes a file in one streaming pass, for targets too large to hold in memory.
Status VerifyFile(const std::string& path, const TargetFile& file, const std::string& what) {
    FILE* f = fopen(path.c_str(), "rb");
    if (f == nullptr) return Error(ErrorCode::kIo, "cannot open downloaded " + what);
    Sha256 sha;
    int64_t size = 0;
    std::string buf(1 << 20, '\0');
    size_t n;
    while ((n = fread(buf.data(), 1, buf.size(), f)) > 0) {
        sha.Update(buf.data(), n);
        size += static_cast<int64_t>(n);
    }
    fclose(f);
    if (size != file.length) {
        return Error(ErrorCode::kHashMismatch, what + ": length is " + std::to_string(size) +
                                                   " bytes, the targets metadata says " +
                                                   std::to_string(file.length));
    }
    auto sha256 = file.hashes.find("sha256");
    if (sha256 == file.hashes.end()) {
        // Other algorithms: fall back to an in-memory check of the whole file.
        HVKIT_ASSIGN_OR_RETURN(std::string data, ReadFile(path, static_cast<size_t>(file.length)));
        return VerifyLengthAndHashes(data, file.length, file.hashes, what);
    }
    if (HexEncode(sha.Final()) != sha256->second) {
        return Error(ErrorCode::kHashMismatch,
                     what + ": sha256 hash does not match the targets metadata");
    }
    return Status::Ok();
}

}  // namespace

Client::Client(ClientConfig config, Fetcher& fetcher, TrustedStore& store)
    : config_(std::move(config)), fetcher_(fetcher), store_(store) {
    config_.metadata_base_url = WithSlash(config_.metadata_base_url);
    config_.target_base_url = WithSlash(config_.target_base_url);
    if (config_.clock == nullptr) config_.clock = &RealClock();
}

Status Client::Initialize(std::string_view root_bytes) {
    HVKIT_ASSIGN_OR_RETURN(auto existing, store_.Load("root"));
    if (existing) return Status::Ok();
    // Self-signature check only: the anchor is trusted, expired or not.
    HVKIT_ASSIGN_OR_RETURN(TrustedSet check,
                           TrustedSet::Create(root_bytes, config_.clock->UnixSeconds()));
    (void)check;
    return store_.Save("root", root_bytes);
}

std::string Client::MetadataFileName(const std::string& role,
                                     std::optional<int64_t> version) const {
    std::string name = PercentEncode(role) + ".json";
    if (version) return std::to_string(*version) + "." + name;
    return name;
}

Result<std::string> Client::FetchMetadata(const std::string& role, std::optional<int64_t> version,
                                          int64_t max_length) {
    FetchOptions options;
    options.max_bytes = max_length;
    std::string url = config_.metadata_base_url + MetadataFileName(role, version);
    auto bytes = fetcher_.Fetch(url, options);
    if (!bytes.ok()) return bytes.status().WithContext("fetching " + role + " metadata");
    return bytes;
}

Status Client::Refresh() {
    HVKIT_ASSIGN_OR_RETURN(auto root, store_.Load("root"));
    if (!root) {
        return Error(
            ErrorCode::kNotFound,
            "no trusted root: initialise the client with the repository's root.json first");
    }
    trusted_.reset();
    HVKIT_ASSIGN_OR_RETURN(TrustedSet set, TrustedSet::Create(*root, config_.clock->UnixSeconds()));
    trusted_.emplace(std::move(set));
    HVKIT_RETURN_IF_ERROR(UpdateRoot());
    HVKIT_RETURN_IF_ERROR(UpdateTimestamp());
    HVKIT_RETURN_IF_ERROR(UpdateSnapshot());
    return LoadTargets("targets", "root");
}

Status Client::UpdateRoot() {
    const RoleKeys before_ts = trusted_->root().meta.roles.at("timestamp");
    const RoleKeys before_snap = trusted_->root().meta.roles.at("snapshot");
    const int64_t start = trusted_->root().meta.common.version;
    for (int64_t next = start + 1; next <= start + config_.max_root_rotations; ++next) {
        auto bytes = FetchMetadata("root", next, config_.root_max_length);
        if (!bytes.ok()) {
            if (bytes.status().code() == ErrorCode::kNotFound) break;
            return bytes.status();
        }
        HVKIT_RETURN_IF_ERROR(trusted_->UpdateRoot(*bytes));
        HVKIT_RETURN_IF_ERROR(store_.Save("root", *bytes));
    }
    HVKIT_RETURN_IF_ERROR(trusted_->CheckRootNotExpired());
    // Fast-forward attack recovery (TUF 5.3.11): once the timestamp or snapshot
    // keys rotate, versions signed by the old keys no longer bind.
    const auto& now = trusted_->root().meta.roles;
    auto same = [](const RoleKeys& a, const RoleKeys& b) {
        return std::set<std::string>(a.keyids.begin(), a.keyids.end()) ==
               std::set<std::string>(b.keyids.begin(), b.keyids.end());
    };
    bool ts_rotated = !same(before_ts, now.at("timestamp"));
    bool snap_rotated = !same(before_snap, now.at("snapshot"));
    if (ts_rotated || snap_rotated) {
        HVKIT_RETURN_IF_ERROR(store_.Remove("timestamp"));
        HVKIT_RETURN_IF_ERROR(store_.Remove("snapshot"));
    }
    return Status::Ok();
}

Status Client::UpdateTimestamp() {
    HVKIT_ASSIGN_OR_RETURN(auto local, store_.Load("timestamp"));
    if (local) (void)trusted_->UpdateTimestamp(*local);  // may be stale; still guards rollback
    HVKIT_ASSIGN_OR_RETURN(std::string bytes,
                           FetchMetadata("timestamp", std::nullopt, config_.timestamp_max_length));
    HVKIT_ASSIGN_OR_RETURN(bool changed, trusted_->UpdateTimestamp(bytes));
    if (changed) HVKIT_RETURN_IF_ERROR(store_.Save("timestamp", bytes));
    return Status::Ok();
}

Status Client::UpdateSnapshot() {
    HVKIT_ASSIGN_OR_RETURN(auto local, store_.Load("snapshot"));
    if (local && trusted_->UpdateSnapshot(*local, /*from_local_store=*/true).ok()) {
        return Status::Ok();  // the stored snapshot is the one the timestamp lists
    }
    const MetaFile& pinned = trusted_->timestamp()->meta.snapshot;
    std::optional<int64_t> version;
    if (trusted_->root().meta.consistent_snapshot) version = pinned.version;
    HVKIT_ASSIGN_OR_RETURN(
        std::string bytes,
        FetchMetadata("snapshot", version, pinned.length.value_or(config_.snapshot_max_length)));
    HVKIT_RETURN_IF_ERROR(trusted_->UpdateSnapshot(bytes));
    return store_.Save("snapshot", bytes);
}

Status Client::LoadTargets(const std::string& role, const std::string& parent) {
    if (trusted_->targets(role) != nullptr) return Status::Ok();
    HVKIT_ASSIGN_OR_RETURN(auto local, store_.Load(role));
    if (local && trusted_->UpdateTargets(*local, role, parent).ok()) return Status::Ok();
    const auto& meta = trusted_->snapshot()->meta.meta;
    auto pinned = meta.find(role + ".json");
    if (pinned == meta.end()) {
        return Error(ErrorCode::kNotFound, "snapshot does not list " + role + ".json");
    }
    std::optional<int64_t> version;
    if (trusted_->root().meta.consistent_snapshot) version = pinned->second.version;
    HVKIT_ASSIGN_OR_RETURN(
        std::string bytes,
        FetchMetadata(role, version, pinned->second.length.value_or(config_.targets_max_length)));
    HVKIT_RETURN_IF_ERROR(trusted_->UpdateTargets(bytes, role, parent));
    return store_.Save(role, bytes);
}

Result<TargetInfo> Client::GetTargetInfo(const std::string& target_path) {
    if (!trusted_ || trusted_->targets("targets") == nullptr) {
        return Error(ErrorCode::kConflict, "refresh the TUF metadata before looking up targets");
    }
    // Pre-order depth-first search of the delegation graph (TUF 5.6.7).
    std::vector<std::pair<std::string, std::string>> to_visit = {{"targets", "root"}};
    std::set<std::string> visited;
    int visits = 0;
    while (!to_visit.empty() && visits < config_.max_delegations) {
        auto [role, parent] = to_visit.back();
        to_visit.pop_back();
        if (!visited.insert(role).second) continue;
        ++visits;
        HVKIT_RETURN_IF_ERROR(LoadTargets(role, parent));
        const TargetsMeta& meta = trusted_->targets(role)->meta;
        auto it = meta.targets.find(target_path);
        if (it != meta.targets.end()) return TargetInfo{target_path, it->second};
        if (!meta.delegations) continue;
        std::vector<std::pair<std::string, std::string>> children;
        for (const auto& child : meta.delegations->roles) {
            if (!child.IsDelegatedPath(target_path)) continue;
            children.emplace_back(child.name, role);
            if (child.terminating) {
                to_visit.clear();
                break;
            }
        }
        to_visit.insert(to_visit.end(), children.rbegin(), children.rend());
    }
    return Error(ErrorCode::kNotFound,
                 "target \"" + target_path + "\" is not listed by any trusted targets role");
}

Status Client::DownloadTarget(const TargetInfo& target, const std::string& dest,
                              const ProgressCallback& progress) {
    // Already there with the right length and hashes: nothing to fetch.
    if (PathExists(dest) && VerifyFile(dest, target.file, "target " + target.path).ok()) {
        return Status::Ok();
    }
    std::string name = target.path;
    if (trusted_->root().meta.consistent_snapshot) {
        auto sha = target.file.hashes.find("sha256");
        const std::string& hash =
            sha != target.file.hashes.end() ? sha->second : target.file.hashes.begin()->second;
        name = ConsistentTargetPath(target.path, hash);
    }
    std::string url = config_.target_base_url + name;
    std::string what = "target " + target.path;
    auto sha = target.file.hashes.find("sha256");
    HVKIT_ASSIGN_OR_RETURN(int64_t record,
                           store_.BeginDownload({0, target.path, url, target.file.length,
                                                 sha != target.file.hashes.end() ? sha->second : "",
                                                 "started", config_.clock->UnixSeconds(), 0}));
    std::string partial = dest + ".part";
    FetchOptions options;
    options.max_bytes = target.file.length;
    options.progress = progress;
    Status st = fetcher_.FetchToFile(url, partial, options);
    if (st.ok()) st = VerifyFile(partial, target.file, what);
    if (st.ok() && rename(partial.c_str(), dest.c_str()) != 0) {
        st = Error(ErrorCode::kIo, "cannot move " + partial + " into place as " + dest);
    }
    if (st.ok()) st = SyncDirectory(DirName(dest));
    // A partial file that failed verification cannot be resumed: discard it.
    if (!st.ok() && st.code() == ErrorCode::kHashMismatch) unlink(partial.c_str());
    HVKIT_RETURN_IF_ERROR(
        store_.FinishDownload(record, st.ok() ? "ok" : st.message(), config_.clock->UnixSeconds()));
    return st.WithContext("downloading " + what);
}

}  // namespace hvkit::tuf
