// Packages through TUF: the agent's view of the repository.
#include "hvkit/agent/tuf_source.h"

#include <cstring>
#include <ctime>

#include "hvkit/crypto.h"
#include "hvkit/fs.h"

namespace hvkit::agent {

Result<std::unique_ptr<TufPackageSource>> TufPackageSource::Open(const AgentConfig& config) {
    std::unique_ptr<TufPackageSource> s(new TufPackageSource());
    s->config_ = config;
    HVKIT_RETURN_IF_ERROR(MakeDirectories(config.state_dir));
    HVKIT_ASSIGN_OR_RETURN(s->store_,
                           tuf::OpenSqliteTrustedStore(config.state_dir + "/tuf.sqlite"));
    s->fetcher_ = MakeHttpFetcher();
    tuf::ClientConfig cc;
    cc.metadata_base_url = config.metadata_url;
    cc.target_base_url = config.targets_url;
    s->client_ = std::make_unique<tuf::Client>(cc, *s->fetcher_, *s->store_);
    HVKIT_ASSIGN_OR_RETURN(std::string root, ReadFile(config.root_path, 1 << 20));
    HVKIT_RETURN_IF_ERROR(
        s->client_->Initialize(root).WithContext("trusted root " + config.root_path));
    return s;
}

std::string TufPackageSource::TargetName(const SemVer& version) const {
    return config_.package_name + "-" + version.ToString() + ".hvpkg";
}

Status TufPackageSource::Refresh() {
    HVKIT_RETURN_IF_ERROR(client_->Refresh());
    refreshed_ = true;
    return Status::Ok();
}

Result<std::vector<SemVer>> TufPackageSource::Available() {
    if (!refreshed_) return Error(ErrorCode::kConflict, "the repository was not refreshed");
    const auto* targets = client_->trusted()->targets("targets");
    std::vector<SemVer> out;
    if (targets == nullptr) return out;
    std::string prefix = config_.package_name + "-", suffix = ".hvpkg";
    for (const auto& [name, file] : targets->meta.targets) {
        if (name.size() <= prefix.size() + suffix.size() || name.rfind(prefix, 0) != 0 ||
            name.compare(name.size() - suffix.size(), suffix.size(), suffix) != 0) {
            continue;
        }
        auto v = SemVer::Parse(
            name.substr(prefix.size(), name.size() - prefix.size() - suffix.size()), name);
        if (v.ok()) out.push_back(*v);  // other names are not this agent's packages
    }
    return out;
}

Result<Sha256Digest> TufPackageSource::Fetch(const SemVer& version, const std::string& dest,
                                             const Progress& progress) {
    if (!refreshed_) return Error(ErrorCode::kConflict, "the repository was not refreshed");
    HVKIT_ASSIGN_OR_RETURN(tuf::TargetInfo info, client_->GetTargetInfo(TargetName(version)));
    // hvkit packages are published with a SHA-256 (hvrepo); one without is
    // refused here rather than hashed again.
    auto sha256 = info.file.hashes.find("sha256");
    if (sha256 == info.file.hashes.end()) {
        return Error(ErrorCode::kMalformed,
                     "target " + info.path + " has no sha256 in the repository's metadata");
    }
    HVKIT_ASSIGN_OR_RETURN(std::string raw, HexDecode(sha256->second, "target sha256"));
    if (raw.size() != Sha256Digest{}.size()) {
        return Error(ErrorCode::kMalformed, "target " + info.path + ": sha256 is not 32 bytes");
    }
    HVKIT_RETURN_IF_ERROR(client_->DownloadTarget(info, dest, [&](int64_t done, int64_t total) {
        if (progress) progress(static_cast<uint64_t>(done), static_cast<uint64_t>(total));
    }));
    // DownloadTarget checked the file against every hash the metadata gives.
    Sha256Digest digest;
    memcpy(digest.data(), raw.data(), digest.size());
    return digest;
}

}  // namespace hvkit::agent
