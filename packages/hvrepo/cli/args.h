// hvrepo's exit codes and its own argument forms (ROLE=N), over the shared
// parser in hvkit/cli_args.h.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "hvkit/cli_args.h"
#include "hvkit/status.h"

namespace hvrepo_cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;  // the operation failed or input was refused
inline constexpr int kExitUsage = 2;   // bad command line

using hvkit::cli::Args;
using hvkit::cli::CommandSpec;
using hvkit::cli::ParseArgs;
using hvkit::cli::ParseInteger;

// Parses "ROLE=N" of (option) into (out); N must be an integer.
hvkit::Status ParseRoleNumber(const std::string& option, const std::string& text,
                              std::map<std::string, int64_t>& out);

}  // namespace hvrepo_cli
