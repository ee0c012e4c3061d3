// One function per hvpkg command; each parses its own arguments (the words
// after the command name) and returns an exit code from cli.h.
#pragma once

#include <string>
#include <vector>

namespace hvpkg {

int RunKeygen(const std::vector<std::string>& argv);
int RunTrust(const std::vector<std::string>& argv);
int RunBuild(const std::vector<std::string>& argv);
int RunSign(const std::vector<std::string>& argv);
int RunVerify(const std::vector<std::string>& argv);
int RunInspect(const std::vector<std::string>& argv);
int RunExtract(const std::vector<std::string>& argv);

}  // namespace hvpkg
