// The command-line skeleton of hvpkg: argument parsing, exit codes and the
// one place messages are printed, shared by the commands in commands.h.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "hvkit/status.h"

namespace hvpkg {

// Exit codes, also in the --help text.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;  // verification failed, input refused, or I/O error
inline constexpr int kExitUsage = 2;   // bad command line

// What a command accepts: options that take a value (repeatable) and flags.
struct CommandSpec {
    std::set<std::string> value_options{};  // "--key"
    std::set<std::string> flags{};          // "--json"
    size_t positional = 0;                  // exact number of positional arguments
};

struct Args {
    std::vector<std::string> positional;
    std::map<std::string, std::vector<std::string>> values;
    std::set<std::string> flags;

    bool Has(const std::string& flag) const { return flags.count(flag) > 0; }
    // All values of (option), in order.
    std::vector<std::string> All(const std::string& option) const;
    // The single value of (option), nullopt when absent; an error when repeated.
    hvkit::Result<std::optional<std::string>> One(const std::string& option) const;
    // The single value of (option); an error when absent or repeated.
    hvkit::Result<std::string> Required(const std::string& option) const;
};

// Parses (argv) after the command name against (spec); accepts "--opt value"
// and "--opt=value". Errors are usage errors.
hvkit::Result<Args> ParseArgs(const std::vector<std::string>& argv, const CommandSpec& spec);

// Prints "hvpkg: (message)" to stderr and returns kExitFailed.
int Fail(const hvkit::Status& status);
// Prints "hvpkg: (message)" and a pointer to --help, returns kExitUsage.
int Usage(const std::string& message);

}  // namespace hvpkg
