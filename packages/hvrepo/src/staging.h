// REPO/staging/targets.json: targets added or removed since the last
// publish. Written atomically; cleared by a publish once timestamp.json
// makes the release visible (replaying it after a crash changes nothing).
#pragma once

#include <string>

#include "hvkit/status.h"
#include "hvrepo/repository.h"

namespace hvkit::repo {

// The staged changes of the repository in (dir); empty when none.
Result<StagedTargets> LoadStagedTargets(const std::string& dir);

// Atomically replaces the staged changes of the repository in (dir).
Status SaveStagedTargets(const std::string& dir, const StagedTargets& staged);

}  // namespace hvkit::repo
