// Command-line parsing for hvrepo: "--opt value", "--opt=value" and flags,
// checked against what each command accepts.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "hvkit/status.h"

namespace hvrepo_cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;  // the operation failed or input was refused
inline constexpr int kExitUsage = 2;   // bad command line

struct CommandSpec {
    std::set<std::string> value_options;  // "--name", each may repeat
    std::set<std::string> flags;          // "--json", each may repeat
    size_t positional = 0;                // exact count
};

struct Args {
    std::vector<std::string> positional;
    std::map<std::string, std::vector<std::string>> values;
    std::map<std::string, int> flags;  // how often each flag was given

    int Count(const std::string& flag) const;
    std::vector<std::string> All(const std::string& option) const;
    // The value of (option) given at most once; nullopt when absent.
    hvkit::Result<std::optional<std::string>> One(const std::string& option) const;
};

// Parses (argv), the words after the command name, against (spec).
hvkit::Result<Args> ParseArgs(const std::vector<std::string>& argv, const CommandSpec& spec);

// Parses "ROLE=N" of (option) into (out); N must be an integer.
hvkit::Status ParseRoleNumber(const std::string& option, const std::string& text,
                              std::map<std::string, int64_t>& out);

// Parses a decimal integer in [min, max]; (what) names it in the error.
hvkit::Result<int64_t> ParseInteger(const std::string& what, const std::string& text, int64_t min,
                                    int64_t max);

}  // namespace hvrepo_cli
