// Command-line parsing shared by hvkit's tools: "--opt value", "--opt=value",
// repeatable options and flags, "--" ending options, checked against what each
// command accepts. Errors are usage errors whose message names the option.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "hvkit/status.h"

namespace hvkit::cli {

// What a command accepts.
struct CommandSpec {
    std::set<std::string> value_options{};  // "--key"; each may repeat
    std::set<std::string> flags{};          // "--json"; each may repeat
    size_t positional = 0;                  // exact number of positional arguments
    bool more_positional = false;           // positional is the least number, not the exact one
};

struct Args {
    std::vector<std::string> positional;
    std::map<std::string, std::vector<std::string>> values;
    std::map<std::string, int> flags;  // how often each flag was given

    bool Has(const std::string& flag) const { return Count(flag) > 0; }
    int Count(const std::string& flag) const;
    // All values of (option), in order.
    std::vector<std::string> All(const std::string& option) const;
    // The single value of (option), nullopt when absent; an error when repeated.
    Result<std::optional<std::string>> One(const std::string& option) const;
    // The single value of (option); an error when absent or repeated.
    Result<std::string> Required(const std::string& option) const;
};

// Parses (argv), the words after the command name, against (spec).
Result<Args> ParseArgs(const std::vector<std::string>& argv, const CommandSpec& spec);

// Parses a decimal integer in [min, max]; (what) names it in the error.
Result<int64_t> ParseInteger(const std::string& what, const std::string& text, int64_t min,
                             int64_t max);

}  // namespace hvkit::cli
