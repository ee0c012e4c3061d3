// The hvrepo commands: each parses its own options, calls the repository
// library (hvrepo/repository.h) and prints the outcome. Each returns an exit
// code from args.h.
#pragma once

#include <string>
#include <vector>

namespace hvrepo_cli {

int RunInit(const std::vector<std::string>& argv);
int RunAdd(const std::vector<std::string>& argv);
int RunRemove(const std::vector<std::string>& argv);
int RunPublish(const std::vector<std::string>& argv);
int RunRotateKey(const std::vector<std::string>& argv);
int RunRenewRoot(const std::vector<std::string>& argv);
int RunStatus(const std::vector<std::string>& argv);
int RunServe(const std::vector<std::string>& argv);

// Prints "hvrepo: (message)" to stderr; returns kExitFailed.
int Fail(const std::string& message);
// Prints "hvrepo: (message)" and where to find the usage; returns kExitUsage.
int UsageError(const std::string& message);

}  // namespace hvrepo_cli
