// Loading and checking /etc/hvkit/agent.json.
#include "hvkit/agent/config.h"

#include <set>

#include "hvkit/fs.h"
#include "hvkit/json.h"

namespace hvkit::agent {

namespace {

class Checker {
  public:
    Checker(const std::string& path) : path_(path) {}
    Status Bad(const std::string& key, const std::string& rule) const {
        return Error(ErrorCode::kInvalidArgument, path_ + ": \"" + key + "\" " + rule);
    }
    Status Keys(const Json& obj, const std::string& where, const std::set<std::string>& allowed) {
        for (const auto& [key, value] : obj.as_object()) {
            if (!allowed.count(key)) {
                return Bad(where + key, "is not a known key (known: " + Join(allowed) + ")");
            }
        }
        return Status::Ok();
    }
    // String member (key) of (obj); required unless (fallback) is given.
    Result<std::string> String(const Json& obj, const std::string& where, const std::string& key,
                               const std::string* fallback = nullptr) {
        const Json* v = obj.Find(key);
        if (v == nullptr) {
            if (fallback) return *fallback;
            return Bad(where + key, "is required");
        }
        if (!v->is_string() || v->as_string().empty()) {
            return Bad(where + key, "must be a non-empty string");
        }
        return v->as_string();
    }
    Result<std::string> AbsolutePath(const Json& obj, const std::string& where,
                                     const std::string& key,
                                     const std::string* fallback = nullptr) {
        HVKIT_ASSIGN_OR_RETURN(std::string p, String(obj, where, key, fallback));
        if (p[0] != '/') return Bad(where + key, "must be an absolute path, not \"" + p + "\"");
        return p;
    }
    Result<std::string> Url(const Json& obj, const std::string& where, const std::string& key) {
        HVKIT_ASSIGN_OR_RETURN(std::string u, String(obj, where, key));
        bool scheme = u.rfind("http://", 0) == 0 || u.rfind("https://", 0) == 0;
        if (!scheme || u.back() != '/') {
            return Bad(where + key,
                       "must be an http:// or https:// URL ending in '/', not \"" + u + "\"");
        }
        return u;
    }

  private:
    static std::string Join(const std::set<std::string>& keys) {
        std::string out;
        for (const auto& k : keys) out += (out.empty() ? "" : ", ") + k;
        return out;
    }
    std::string path_;
};

}  // namespace

Result<AgentConfig> LoadAgentConfig(const std::string& path) {
    HVKIT_ASSIGN_OR_RETURN(std::string text, ReadFile(path, 1 << 20));
    HVKIT_ASSIGN_OR_RETURN(Json doc, ParseJson(text, path));
    Checker c(path);
    if (!doc.is_object()) return c.Bad("", "the document must be a JSON object");
    HVKIT_RETURN_IF_ERROR(c.Keys(
        doc, "", {"repository", "package_trust", "package_name", "state_dir", "extensions_dir"}));
    const Json* repo = doc.Find("repository");
    if (repo == nullptr || !repo->is_object()) return c.Bad("repository", "must be an object");
    HVKIT_RETURN_IF_ERROR(c.Keys(*repo, "repository.", {"metadata_url", "targets_url", "root"}));
    AgentConfig config;
    HVKIT_ASSIGN_OR_RETURN(config.metadata_url, c.Url(*repo, "repository.", "metadata_url"));
    HVKIT_ASSIGN_OR_RETURN(config.targets_url, c.Url(*repo, "repository.", "targets_url"));
    HVKIT_ASSIGN_OR_RETURN(config.root_path, c.AbsolutePath(*repo, "repository.", "root"));
    HVKIT_ASSIGN_OR_RETURN(config.package_trust_path, c.AbsolutePath(doc, "", "package_trust"));
    AgentConfig defaults;
    HVKIT_ASSIGN_OR_RETURN(config.package_name,
                           c.String(doc, "", "package_name", &defaults.package_name));
    for (char ch : config.package_name) {
        if (!isalnum(static_cast<unsigned char>(ch)) && ch != '-' && ch != '_') {
            return c.Bad("package_name", "may hold only letters, digits, '-' and '_'");
        }
    }
    HVKIT_ASSIGN_OR_RETURN(config.state_dir,
                           c.AbsolutePath(doc, "", "state_dir", &defaults.state_dir));
    HVKIT_ASSIGN_OR_RETURN(config.extensions_dir,
                           c.AbsolutePath(doc, "", "extensions_dir", &defaults.extensions_dir));
    return config;
}

}  // namespace hvkit::agent
