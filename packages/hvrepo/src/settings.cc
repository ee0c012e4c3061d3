#include "settings.h"

#include "hvkit/fs.h"
#include "hvkit/json.h"
#include "hvrepo/repository.h"

namespace hvkit::repo {

std::string SettingsPath(const std::string& dir) {
    return dir + "/hvrepo.json";
}

Result<RepositorySettings> LoadSettings(const std::string& dir) {
    const std::string path = SettingsPath(dir);
    auto text = ReadFile(path, 64 * 1024);
    if (!text.ok()) {
        if (text.status().code() == ErrorCode::kNotFound) {
            return Error(ErrorCode::kNotFound, dir + " is not an hvrepo repository (" + path +
                                                   " is missing): create one with `hvrepo init " +
                                                   dir + "`");
        }
        return text.status();
    }
    HVKIT_ASSIGN_OR_RETURN(Json doc, ParseJson(*text, path));
    HVKIT_ASSIGN_OR_RETURN(std::string format, JsonString(doc, "format", path));
    if (format != kSettingsFormat) {
        return Error(ErrorCode::kMalformed, path + ": format is \"" + format +
                                                "\", this hvrepo reads \"" + kSettingsFormat +
                                                "\": use a matching hvrepo");
    }
    RepositorySettings settings;
    HVKIT_ASSIGN_OR_RETURN(const Json* days,
                           JsonMember(doc, "expires_days", Json::Type::kObject, path));
    for (const char* role : kTopLevelRoles) {
        HVKIT_ASSIGN_OR_RETURN(int64_t d, JsonInt(*days, role, path + " expires_days"));
        if (d < 1) {
            return Error(ErrorCode::kMalformed,
                         path + ": expires_days." + role + " must be at least 1 day: fix the file");
        }
        settings.expires_days[role] = d;
    }
    if (doc.Find("keys_dir")) {
        HVKIT_ASSIGN_OR_RETURN(settings.keys_dir, JsonString(doc, "keys_dir", path));
    }
    return settings;
}

Status SaveSettings(const std::string& dir, const RepositorySettings& settings) {
    Json doc;
    doc["format"] = kSettingsFormat;
    Json days = Json::MakeObject();
    for (const auto& [role, d] : settings.expires_days) days[role] = d;
    doc["expires_days"] = std::move(days);
    if (!settings.keys_dir.empty()) doc["keys_dir"] = settings.keys_dir;
    return WriteFileAtomic(SettingsPath(dir), DumpJson(doc) + "\n");
}

}  // namespace hvkit::repo
