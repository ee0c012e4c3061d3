#include "hvkit/cli_args.h"

#include <cerrno>
#include <cstdlib>

namespace hvkit::cli {

int Args::Count(const std::string& flag) const {
    auto it = flags.find(flag);
    return it == flags.end() ? 0 : it->second;
}

std::vector<std::string> Args::All(const std::string& option) const {
    auto it = values.find(option);
    return it == values.end() ? std::vector<std::string>{} : it->second;
}

Result<std::optional<std::string>> Args::One(const std::string& option) const {
    auto all = All(option);
    if (all.empty()) return std::optional<std::string>();
    if (all.size() > 1) {
        return Error(ErrorCode::kInvalidArgument, option + " may be given only once");
    }
    return std::optional<std::string>(all[0]);
}

Result<std::string> Args::Required(const std::string& option) const {
    HVKIT_ASSIGN_OR_RETURN(std::optional<std::string> value, One(option));
    if (!value) return Error(ErrorCode::kInvalidArgument, option + " is required");
    return *value;
}

Result<Args> ParseArgs(const std::vector<std::string>& argv, const CommandSpec& spec) {
    Args args;
    bool options_done = false;
    for (size_t i = 0; i < argv.size(); ++i) {
        const std::string& word = argv[i];
        if (options_done || word.size() < 2 || word.compare(0, 2, "--") != 0) {
            args.positional.push_back(word);
            continue;
        }
        if (word == "--") {
            options_done = true;
            continue;
        }
        std::string name = word;
        std::optional<std::string> value;
        if (auto eq = word.find('='); eq != std::string::npos) {
            name = word.substr(0, eq);
            value = word.substr(eq + 1);
        }
        if (spec.flags.count(name)) {
            if (value) return Error(ErrorCode::kInvalidArgument, name + " takes no value");
            ++args.flags[name];
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
    if (args.positional.size() < spec.positional ||
        (args.positional.size() > spec.positional && !spec.more_positional)) {
        return Error(ErrorCode::kInvalidArgument,
                     std::string("expected ") + (spec.more_positional ? "at least " : "") +
                         std::to_string(spec.positional) + " argument(s), got " +
                         std::to_string(args.positional.size()));
    }
    return args;
}

Result<int64_t> ParseInteger(const std::string& what, const std::string& text, int64_t min,
                             int64_t max) {
    errno = 0;
    char* end = nullptr;
    long long v = std::strtoll(text.c_str(), &end, 10);
    if (text.empty() || *end != '\0' || errno != 0 || v < min || v > max) {
        return Error(ErrorCode::kInvalidArgument,
                     what + " '" + text + "' must be an integer from " + std::to_string(min) +
                         " to " + std::to_string(max));
    }
    return static_cast<int64_t>(v);
}

}  // namespace hvkit::cli
