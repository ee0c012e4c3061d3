// hvagent's commands (hvagent.cc dispatches): each takes its parsed
// arguments and returns the process's exit status.
#pragma once

#include <string>
#include <vector>

#include "hvkit/cli_args.h"

namespace hvkit::agent_tool {

// `hvagent filters`: serves the VM's filter rings (hvagent.cc).
int RunFilters(const cli::Args& args);
// `hvagent scan`: runs files through a chain (hvagent_scan.cc).
int RunScan(const cli::Args& args);

// The --modules directories, or the defaults: the installed guest
// extension's filters, then the guest image's.
std::vector<std::string> ModuleDirs(const cli::Args& args);
// Prints "hvagent COMMAND: MESSAGE" and the usage; -> 2.
int Usage(const std::string& command, const std::string& message);
// Prints "hvagent COMMAND: MESSAGE"; -> 1.
int Fail(const std::string& command, const std::string& message);

}  // namespace hvkit::agent_tool
