// REPO/targets: target files stored under their consistent-snapshot names
// (DIR/SHA256.BASE for target path DIR/BASE), and the rules a target name
// must follow to be safe as a file path and a URL on every client.
#pragma once

#include <string>

#include "hvkit/json.h"
#include "hvkit/status.h"
#include "hvkit/tuf/metadata.h"

namespace hvkit::repo {

// Accepts relative paths of segments made of letters, digits and . _ - + ~ @ = ,
// without empty, "." or ".." segments. The error names (name) and the rule.
Status ValidateTargetName(const std::string& name);

// Copies (file) into (targets_dir) as the consistent file of target (name),
// atomically, hashing while it copies. Returns its length and sha256.
Result<tuf::TargetFile> StoreTargetFile(const std::string& file, const std::string& targets_dir,
                                        const std::string& name);

}  // namespace hvkit::repo
