// Staging target changes: Repository::AddTarget and RemoveTarget.
#include "hvkit/fs.h"
#include "hvrepo/repository.h"
#include "published_state.h"
#include "staging.h"
#include "target_store.h"

namespace hvkit::repo {

namespace {

std::string BaseName(const std::string& path) {
    auto slash = path.find_last_of('/');
    return slash == std::string::npos ? path : path.substr(slash + 1);
}

}  // namespace

Result<tuf::TargetFile> Repository::AddTarget(const std::string& file, const std::string& name,
                                              const Json& custom) {
    const std::string target = name.empty() ? BaseName(file) : name;
    HVKIT_RETURN_IF_ERROR(ValidateTargetName(target));
    if (!custom.is_null() && !custom.is_object()) {
        return Error(ErrorCode::kInvalidArgument,
                     "custom metadata of target '" + target +
                         "' must be a JSON object, e.g. '{\"component\":\"hypervisor\"}'");
    }
    HVKIT_ASSIGN_OR_RETURN(StagedTargets staged, LoadStagedTargets(dir_));
    HVKIT_ASSIGN_OR_RETURN(tuf::TargetFile stored, StoreTargetFile(file, targets_dir(), target));
    stored.custom = custom;
    staged.added[target] = stored;
    staged.removed.erase(target);
    HVKIT_RETURN_IF_ERROR(SaveStagedTargets(dir_, staged));
    return stored;
}

Status Repository::RemoveTarget(const std::string& name) {
    HVKIT_ASSIGN_OR_RETURN(PublishedState state, LoadPublishedState(metadata_dir()));
    HVKIT_ASSIGN_OR_RETURN(StagedTargets staged, LoadStagedTargets(dir_));
    const bool published = state.targets.meta.targets.count(name) > 0;
    const bool was_staged = staged.added.erase(name) > 0;
    if (!published && !was_staged) {
        return Error(ErrorCode::kNotFound, "cannot remove target '" + name + "' from " + dir_ +
                                               ": it is neither published nor staged (see `hvrepo "
                                               "status " +
                                               dir_ + "`)");
    }
    if (published) staged.removed.insert(name);
    return SaveStagedTargets(dir_, staged);
}

}  // namespace hvkit::repo
