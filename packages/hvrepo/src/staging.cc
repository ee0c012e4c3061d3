#include "staging.h"

#include "hvkit/fs.h"
#include "hvkit/json.h"
#include "target_store.h"

namespace hvkit::repo {

namespace {

std::string StagingPath(const std::string& dir) {
    return dir + "/staging/targets.json";
}

// Reads a staged target entry with the same schema checks as targets metadata.
Result<tuf::TargetFile> ParseStagedEntry(const std::string& name, const Json& entry,
                                         const std::string& path) {
    Json body;
    body["_type"] = "targets";
    body["spec_version"] = tuf::kSpecVersion;
    body["version"] = 1;
    body["expires"] = tuf::FormatTufTime(0);
    body["targets"][name] = entry;
    HVKIT_ASSIGN_OR_RETURN(tuf::TargetsMeta meta, tuf::ParseTargets(body, path));
    return meta.targets.at(name);
}

}  // namespace

Result<StagedTargets> LoadStagedTargets(const std::string& dir) {
    const std::string path = StagingPath(dir);
    StagedTargets staged;
    if (!PathExists(path)) return staged;
    HVKIT_ASSIGN_OR_RETURN(std::string text, ReadFile(path, 64 * 1024 * 1024));
    HVKIT_ASSIGN_OR_RETURN(Json doc, ParseJson(text, path));
    HVKIT_ASSIGN_OR_RETURN(const Json* added, JsonMember(doc, "added", Json::Type::kObject, path));
    for (const auto& [name, entry] : added->as_object()) {
        HVKIT_RETURN_IF_ERROR(ValidateTargetName(name).WithContext(path));
        HVKIT_ASSIGN_OR_RETURN(tuf::TargetFile file, ParseStagedEntry(name, entry, path));
        staged.added.emplace(name, std::move(file));
    }
    HVKIT_ASSIGN_OR_RETURN(const Json* removed,
                           JsonMember(doc, "removed", Json::Type::kArray, path));
    for (const Json& name : removed->as_array()) {
        if (!name.is_string()) {
            return Error(ErrorCode::kMalformed,
                         path + ": removed must list target names (strings)");
        }
        staged.removed.insert(name.as_string());
    }
    return staged;
}

Status SaveStagedTargets(const std::string& dir, const StagedTargets& staged) {
    Json doc;
    Json added = Json::MakeObject();
    for (const auto& [name, file] : staged.added) added[name] = tuf::ToJson(file);
    doc["added"] = std::move(added);
    Json removed = Json::MakeArray();
    for (const auto& name : staged.removed) removed.Push(name);
    doc["removed"] = std::move(removed);
    HVKIT_RETURN_IF_ERROR(MakeDirectories(dir + "/staging"));
    return WriteFileAtomic(StagingPath(dir), DumpJson(doc) + "\n");
}

}  // namespace hvkit::repo
