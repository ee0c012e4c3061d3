// One source: its kind-specific section, its module chain and its policies.
#include "config_source.h"

#include <algorithm>

namespace hvkit::filterd {

namespace {

constexpr int64_t kMaxContentBytes = 64 << 20;
constexpr size_t kMaxChain = 32;
constexpr size_t kMaxNameLength = 32;

// (text) is made only of a-z, 0-9 and the characters in (extra).
bool MadeOf(std::string_view text, std::string_view extra) {
    return std::all_of(text.begin(), text.end(), [&](char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
               extra.find(c) != std::string_view::npos;
    });
}

Result<FailPolicy> ReadPolicy(const ConfigReader& r, const Json& source, const ConfigPath& at,
                              std::string_view key) {
    HVKIT_ASSIGN_OR_RETURN(std::string p, r.Choice(source, at, key, {"fail-open", "fail-closed"}));
    return p == "fail-open" ? FailPolicy::kFailOpen : FailPolicy::kFailClosed;
}

Result<NetworkSection> ReadNetworkSection(const ConfigReader& r, const Json& net,
                                          const ConfigPath& at) {
    HVKIT_RETURN_IF_ERROR(
        r.KnownKeysOnly(net, at, {"queue", "rules", "batch", "allow_header_changes"}));
    NetworkSection out;
    HVKIT_ASSIGN_OR_RETURN(int64_t queue, r.Int(net, at, "queue", {0, 65535}));
    out.queue = static_cast<uint16_t>(queue);
    HVKIT_ASSIGN_OR_RETURN(out.rules, r.Strings(net, at, "rules", true));
    for (size_t i = 0; i < out.rules.size(); ++i) {
        // Each rule becomes one line of the nft script hvfilterd loads; these
        // characters would end it or start another.
        if (out.rules[i].find_first_of(";#\n\r") != std::string::npos) {
            return r.Bad(at.Key("rules").Index(i),
                         "must be one nft match expression without ';', '#' or line breaks");
        }
    }
    HVKIT_ASSIGN_OR_RETURN(int64_t batch, r.Int(net, at, "batch", {1, 1024}, 32));
    out.batch = static_cast<uint32_t>(batch);
    if (const Json* allow = net.Find("allow_header_changes")) {
        if (!allow->is_bool())
            return r.Bad(at.Key("allow_header_changes"), "must be true or false");
        out.allow_header_changes = allow->as_bool();
    }
    return out;
}

Result<FileEvent> ParseEvent(const ConfigReader& r, const std::string& name, const ConfigPath& at) {
    if (name == "open") return FileEvent::kOpen;
    if (name == "exec") return FileEvent::kExec;
    if (name == "access") return FileEvent::kAccess;
    return r.Bad(at, "\"" + name + "\" is not one of \"open\", \"exec\", \"access\"");
}

Result<FileSection> ReadFileSection(const ConfigReader& r, const Json& file, const ConfigPath& at) {
    HVKIT_RETURN_IF_ERROR(r.KnownKeysOnly(file, at, {"paths", "events", "max_content_bytes"}));
    FileSection out;
    HVKIT_ASSIGN_OR_RETURN(out.paths, r.Strings(file, at, "paths", true));
    for (size_t i = 0; i < out.paths.size(); ++i) {
        const std::string& p = out.paths[i];
        ConfigPath path_at = at.Key("paths").Index(i);
        if (p[0] != '/') return r.Bad(path_at, "must be an absolute path, not \"" + p + "\"");
        if (p.find('\0') != std::string::npos) return r.Bad(path_at, "must not contain NUL");
        if (std::find(out.paths.begin(), out.paths.begin() + i, p) != out.paths.begin() + i) {
            return r.Bad(path_at, "\"" + p + "\" is listed twice");
        }
    }
    HVKIT_ASSIGN_OR_RETURN(auto events, r.Strings(file, at, "events", false));
    if (!events.empty()) out.events.clear();
    for (size_t i = 0; i < events.size(); ++i) {
        HVKIT_ASSIGN_OR_RETURN(FileEvent e, ParseEvent(r, events[i], at.Key("events").Index(i)));
        if (std::find(out.events.begin(), out.events.end(), e) != out.events.end()) {
            return r.Bad(at.Key("events").Index(i), "\"" + events[i] + "\" is listed twice");
        }
        out.events.push_back(e);
    }
    HVKIT_ASSIGN_OR_RETURN(int64_t content,
                           r.Int(file, at, "max_content_bytes", {0, kMaxContentBytes}, 1 << 20));
    out.max_content_bytes = static_cast<uint64_t>(content);
    return out;
}

Result<ModuleStep> ReadStep(const ConfigReader& r, const Json& step, const ConfigPath& at) {
    if (!step.is_object()) {
        return r.Bad(at, "must be an object, not " + JsonTypeWithArticle(step.type()));
    }
    HVKIT_RETURN_IF_ERROR(r.KnownKeysOnly(step, at, {"module", "params"}));
    ModuleStep out;
    HVKIT_ASSIGN_OR_RETURN(out.module, r.String(step, at, "module"));
    if (out.module.size() > 64 || !MadeOf(out.module, "_-")) {
        return r.Bad(at.Key("module"),
                     "\"" + out.module + "\" must be 1..64 characters of a-z, 0-9, '_' and '-'");
    }
    HVKIT_ASSIGN_OR_RETURN(const Json* params,
                           r.Member(step, at, "params", Json::Type::kObject, false));
    if (params != nullptr) out.params = *params;
    return out;
}

Result<std::vector<ModuleStep>> ReadChain(const ConfigReader& r, const Json& source,
                                          const ConfigPath& at) {
    HVKIT_ASSIGN_OR_RETURN(const Json* chain,
                           r.Member(source, at, "chain", Json::Type::kArray, true));
    size_t n = chain->as_array().size();
    if (n == 0 || n > kMaxChain) {
        return r.Bad(at.Key("chain"), "must hold 1.." + std::to_string(kMaxChain) +
                                          " modules, not " + std::to_string(n));
    }
    std::vector<ModuleStep> out;
    for (size_t i = 0; i < n; ++i) {
        HVKIT_ASSIGN_OR_RETURN(ModuleStep step,
                               ReadStep(r, chain->as_array()[i], at.Key("chain").Index(i)));
        out.push_back(std::move(step));
    }
    return out;
}

// Reads the section named by the kind and refuses the other one.
Status ReadKindSection(const ConfigReader& r, const Json& source, const ConfigPath& at,
                       SourceConfig& out) {
    bool network = out.kind == SourceKind::kNetwork;
    std::string_view own = network ? "network" : "file";
    std::string_view other = network ? "file" : "network";
    if (source.Find(other) != nullptr) {
        return r.Bad(at.Key(other), "is only allowed when kind is \"" + std::string(other) +
                                        "\" (this source's kind is \"" + std::string(own) + "\")");
    }
    HVKIT_ASSIGN_OR_RETURN(const Json* section,
                           r.Member(source, at, own, Json::Type::kObject, true));
    if (network) {
        HVKIT_ASSIGN_OR_RETURN(out.network, ReadNetworkSection(r, *section, at.Key(own)));
    } else {
        HVKIT_ASSIGN_OR_RETURN(out.file, ReadFileSection(r, *section, at.Key(own)));
    }
    return Status::Ok();
}

// A packet is at most 65535 bytes; a file's content travels as one item, so
// its cap must hold max_content_bytes.
Result<uint32_t> ReadMaxItemBytes(const ConfigReader& r, const Json& source, const ConfigPath& at,
                                  const SourceConfig& s) {
    if (s.kind == SourceKind::kNetwork) {
        HVKIT_ASSIGN_OR_RETURN(int64_t n, r.Int(source, at, "max_item_bytes", {64, 65535}, 65535));
        return static_cast<uint32_t>(n);
    }
    int64_t floor = std::max<int64_t>(64, static_cast<int64_t>(s.file->max_content_bytes));
    HVKIT_ASSIGN_OR_RETURN(int64_t n,
                           r.Int(source, at, "max_item_bytes", {floor, kMaxContentBytes}, floor));
    return static_cast<uint32_t>(n);
}

}  // namespace

Result<SourceConfig> ReadSource(const ConfigReader& r, const Json& value, const ConfigPath& at) {
    if (!value.is_object()) {
        return r.Bad(at, "must be an object, not " + JsonTypeWithArticle(value.type()));
    }
    HVKIT_RETURN_IF_ERROR(
        r.KnownKeysOnly(value, at,
                        {"name", "kind", "network", "file", "chain", "deadline_ms", "on_timeout",
                         "on_guest_absent", "on_overflow", "max_pending", "max_item_bytes"}));
    SourceConfig s;
    HVKIT_ASSIGN_OR_RETURN(s.name, r.String(value, at, "name"));
    if (s.name.size() > kMaxNameLength || !MadeOf(s.name, "-")) {
        return r.Bad(at.Key("name"), "\"" + s.name + "\" must be 1.." +
                                         std::to_string(kMaxNameLength) +
                                         " characters of a-z, 0-9 and '-'");
    }
    HVKIT_ASSIGN_OR_RETURN(std::string kind, r.Choice(value, at, "kind", {"network", "file"}));
    s.kind = kind == "network" ? SourceKind::kNetwork : SourceKind::kFile;
    HVKIT_RETURN_IF_ERROR(ReadKindSection(r, value, at, s));
    HVKIT_ASSIGN_OR_RETURN(s.chain, ReadChain(r, value, at));
    s.policy.name = s.name;
    HVKIT_ASSIGN_OR_RETURN(int64_t deadline, r.Int(value, at, "deadline_ms", {1, 60000}));
    s.policy.deadline = std::chrono::milliseconds(deadline);
    HVKIT_ASSIGN_OR_RETURN(s.policy.on_timeout, ReadPolicy(r, value, at, "on_timeout"));
    HVKIT_ASSIGN_OR_RETURN(s.policy.on_guest_absent, ReadPolicy(r, value, at, "on_guest_absent"));
    HVKIT_ASSIGN_OR_RETURN(s.policy.on_overflow, ReadPolicy(r, value, at, "on_overflow"));
    HVKIT_ASSIGN_OR_RETURN(int64_t pending, r.Int(value, at, "max_pending", {1, 1 << 20}, 1024));
    s.policy.max_pending = static_cast<uint32_t>(pending);
    HVKIT_ASSIGN_OR_RETURN(s.max_item_bytes, ReadMaxItemBytes(r, value, at, s));
    return s;
}

}  // namespace hvkit::filterd
