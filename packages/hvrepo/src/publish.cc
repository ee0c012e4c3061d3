// Repository::Publish: the staged targets become a new release.
#include "hvrepo/repository.h"
#include "key_store.h"
#include "published_state.h"
#include "release.h"
#include "staging.h"

namespace hvkit::repo {

namespace {

bool SameTargets(const std::map<std::string, tuf::TargetFile>& a,
                 const std::map<std::string, tuf::TargetFile>& b) {
    if (a.size() != b.size()) return false;
    for (auto ia = a.begin(), ib = b.begin(); ia != a.end(); ++ia, ++ib) {
        if (ia->first != ib->first || !(tuf::ToJson(ia->second) == tuf::ToJson(ib->second))) {
            return false;
        }
    }
    return true;
}

}  // namespace

Result<PublishReport> Repository::Publish() {
    HVKIT_ASSIGN_OR_RETURN(PublishedState state, LoadPublishedState(metadata_dir()));
    HVKIT_ASSIGN_OR_RETURN(StagedTargets staged, LoadStagedTargets(dir_));

    std::map<std::string, tuf::TargetFile> targets = state.targets.meta.targets;
    for (const auto& name : staged.removed) targets.erase(name);
    for (const auto& [name, file] : staged.added) targets[name] = file;

    PublishReport report;
    report.targets_changed = !SameTargets(targets, state.targets.meta.targets);
    // Targets is re-signed early (past half its validity) so a publishing
    // routine that runs more often than the expiry keeps it fresh.
    const int64_t half_life = expires_days_.at("targets") * 24 * 60 * 60 / 2;
    const bool renew_targets = state.targets.meta.common.expires - Now() < half_life;
    state.targets.meta.targets = std::move(targets);

    KeyStore keys(keys_dir_);
    ReleaseContext context{metadata_dir(), &keys,
                           [this](const std::string& role) { return ExpiryFor(role); }};
    HVKIT_RETURN_IF_ERROR(Release(
        context,
        report.targets_changed || renew_targets ? ReleaseStart::kTargets : ReleaseStart::kSnapshot,
        state));
    // A crash before this line leaves the changes staged: publishing again
    // finds them already released and leaves targets as it is.
    HVKIT_RETURN_IF_ERROR(SaveStagedTargets(dir_, StagedTargets{}));

    report.targets_version = state.targets.meta.common.version;
    report.snapshot_version = state.snapshot.meta.common.version;
    report.timestamp_version = state.timestamp.meta.common.version;
    return report;
}

}  // namespace hvkit::repo
