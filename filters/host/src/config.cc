// Loading hvfilterd.json: the document, the VM section, and the checks that
// span sources. Each source is read by config_source.cc.
#include "hvkit/filterd/config.h"

#include "config_reader.h"
#include "config_source.h"
#include "hvkit/fs.h"

namespace hvkit::filterd {

namespace {

constexpr size_t kMaxConfigBytes = 1 << 20;
// Item ids leave room for 65536 sources (dispatcher.h); a daemon with more
// than this many is more likely a generated mistake than a plan.
constexpr size_t kMaxSources = 64;

Result<std::string> ReadControlSocket(const ConfigReader& r, const Json& doc) {
    ConfigPath at = ConfigPath().Key("vm");
    HVKIT_ASSIGN_OR_RETURN(const Json* vm,
                           r.Member(doc, ConfigPath(), "vm", Json::Type::kObject, true));
    HVKIT_RETURN_IF_ERROR(r.KnownKeysOnly(*vm, at, {"control_socket"}));
    HVKIT_ASSIGN_OR_RETURN(std::string socket, r.String(*vm, at, "control_socket"));
    if (socket[0] != '/') {
        return r.Bad(at.Key("control_socket"), "must be an absolute path, not \"" + socket + "\"");
    }
    return socket;
}

// Names and NFQUEUE numbers identify a source; (s), read at (at), must not
// repeat one of (earlier).
Status CheckUnique(const ConfigReader& r, const std::vector<SourceConfig>& earlier,
                   const SourceConfig& s, const ConfigPath& at) {
    for (size_t i = 0; i < earlier.size(); ++i) {
        const SourceConfig& e = earlier[i];
        std::string where = "sources[" + std::to_string(i) + "]";
        if (e.name == s.name) {
            return r.Bad(at.Key("name"), "\"" + s.name + "\" is already the name of " + where);
        }
        if (e.network && s.network && e.network->queue == s.network->queue) {
            return r.Bad(at.Key("network").Key("queue"),
                         std::to_string(s.network->queue) + " is already the queue of " + where);
        }
    }
    return Status::Ok();
}

}  // namespace

Result<FilterConfig> ParseFilterConfig(std::string_view text, const std::string& file) {
    JsonLocations locations;
    HVKIT_ASSIGN_OR_RETURN(Json doc, ParseJson(text, file, {}, &locations));
    ConfigReader r(file, locations);
    ConfigPath root;
    if (!doc.is_object()) {
        return r.Bad(root, "must be a JSON object, not " + JsonTypeWithArticle(doc.type()));
    }
    HVKIT_RETURN_IF_ERROR(r.KnownKeysOnly(doc, root, {"vm", "sources"}));
    FilterConfig config;
    HVKIT_ASSIGN_OR_RETURN(config.control_socket, ReadControlSocket(r, doc));
    HVKIT_ASSIGN_OR_RETURN(const Json* sources,
                           r.Member(doc, root, "sources", Json::Type::kArray, true));
    size_t n = sources->as_array().size();
    if (n == 0 || n > kMaxSources) {
        return r.Bad(root.Key("sources"), "must hold 1.." + std::to_string(kMaxSources) +
                                              " sources, not " + std::to_string(n));
    }
    for (size_t i = 0; i < n; ++i) {
        ConfigPath at = root.Key("sources").Index(i);
        HVKIT_ASSIGN_OR_RETURN(SourceConfig s, ReadSource(r, sources->as_array()[i], at));
        HVKIT_RETURN_IF_ERROR(CheckUnique(r, config.sources, s, at));
        config.sources.push_back(std::move(s));
    }
    return config;
}

Result<FilterConfig> LoadFilterConfig(const std::string& path) {
    HVKIT_ASSIGN_OR_RETURN(std::string text, ReadFile(path, kMaxConfigBytes));
    return ParseFilterConfig(text, path);
}

std::vector<SourcePolicy> SourcePolicies(const FilterConfig& config) {
    std::vector<SourcePolicy> out;
    for (const SourceConfig& s : config.sources) out.push_back(s.policy);
    return out;
}

}  // namespace hvkit::filterd
