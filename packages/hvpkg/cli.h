// The command-line skeleton of hvpkg: exit codes, the shared argument parser and the
// one place messages are printed, shared by the commands in commands.h.
#pragma once

#include <string>

#include "hvkit/cli_args.h"
#include "hvkit/status.h"

namespace hvpkg {

// Exit codes, also in the --help text.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;  // verification failed, input refused, or I/O error
inline constexpr int kExitUsage = 2;   // bad command line

using hvkit::cli::Args;
using hvkit::cli::CommandSpec;
using hvkit::cli::ParseArgs;

// Prints "hvpkg: (message)" to stderr and returns kExitFailed.
int Fail(const hvkit::Status& status);
// Prints "hvpkg: (message)" and a pointer to --help, returns kExitUsage.
int Usage(const std::string& message);

}  // namespace hvpkg
