#include "cli.h"

#include <cstdio>

namespace hvpkg {

using hvkit::Error;
using hvkit::ErrorCode;
using hvkit::Result;

std::vector<std::string> Args::All(const std::string& option) const {
    auto it = values.find(option);
    return it == values.end() ? std::vector<std::string>{} : it->second;
}

Result<std::optional<std::string>> Args::One(const std::string& option) const {
    auto it = values.find(option);
    if (it == values.end()) return std::optional<std::string>();
    if (it->second.size() > 1) {
        return Error(ErrorCode::kInvalidArgument, option + " may be given only once");
    }
    return std::optional<std::string>(it->second[0]);
}

Result<std::string> Args::Required(const std::string& option) const {
    HVKIT_ASSIGN_OR_RETURN(std::optional<std::string> value, One(option));
    if (!value) return Error(ErrorCode::kInvalidArgument, option + " is required");
    return *value;
}

Result<Args> ParseArgs(const std::vector<std::string>& argv, const CommandSpec& spec) {
    Args args;
    for (size_t i = 0; i < argv.size(); ++i) {
        const std::string& arg = argv[i];
        if (arg.size() < 2 || arg.compare(0, 2, "--") != 0 || arg == "--") {
            args.positional.push_back(arg);
            continue;
        }
        std::string name = arg;
        std::optional<std::string> value;
        if (auto eq = arg.find('='); eq != std::string::npos) {
            name = arg.substr(0, eq);
            value = arg.substr(eq + 1);
        }
        if (spec.flags.count(name)) {
            if (value) return Error(ErrorCode::kInvalidArgument, name + " takes no value");
            args.flags.insert(name);
        } else if (spec.value_options.count(name)) {
            if (!value) {
                if (i + 1 >= argv.size()) {
                    return Error(ErrorCode::kInvalidArgument, name + " needs a value");
                }
                value = argv[++i];
            }
            args.values[name].push_back(*value);
        } else {
            return Error(ErrorCode::kInvalidArgument, "unknown option " + name);
        }
    }
    if (args.positional.size() != spec.positional) {
        return Error(ErrorCode::kInvalidArgument, "expected " + std::to_string(spec.positional) +
                                                      " argument(s), got " +
                                                      std::to_string(args.positional.size()));
    }
    return args;
}

int Fail(const hvkit::Status& status) {
    fprintf(stderr, "hvpkg: %s\n", status.message().c_str());
    return kExitFailed;
}

int Usage(const std::string& message) {
    fprintf(stderr, "hvpkg: %s\nTry 'hvpkg --help'.\n", message.c_str());
    return kExitUsage;
}

}  // namespace hvpkg
