#include "hvkit/package/recipe.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <functional>
#include <vector>

#include "hvkit/fs.h"
#include "hvkit/package/path_rules.h"
#include "hvkit/signed.h"

namespace hvkit {

namespace {

constexpr size_t kMaxRecipeBytes = 4 << 20;
constexpr size_t kCopyChunk = 1 << 20;

// Calls (consume) with successive chunks of the regular file (path).
Status ForEachChunk(const std::string& path,
                    const std::function<Status(const char*, size_t)>& consume) {
    int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return Error(ErrorCode::kNotFound, "cannot open " + path + ": " + strerror(errno));
    std::vector<char> buf(kCopyChunk);
    Status st;
    for (;;) {
        ssize_t n = read(fd, buf.data(), buf.size());
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            st = Error(ErrorCode::kIo, "cannot read " + path + ": " + strerror(errno));
            break;
        }
        if (n == 0) break;
        st = consume(buf.data(), static_cast<size_t>(n));
        if (!st.ok()) break;
    }
    close(fd);
    return st;
}

Result<RecipeFile> RecipeFileFromJson(const Json& entry, const std::string& base_dir,
                                      const std::string& what) {
    if (!entry.is_object()) {
        return Error(ErrorCode::kMalformed, what + ": each file must be an object");
    }
    for (const auto& [key, value] : entry.as_object()) {
        if (key != "component" && key != "source" && key != "path" && key != "mode") {
            return Error(ErrorCode::kMalformed, what + ": unknown file field " + Quote(key) +
                                                    " (expected component, source, path, mode)");
        }
    }
    RecipeFile file;
    HVKIT_ASSIGN_OR_RETURN(file.path, JsonString(entry, "path", what));
    std::string context = what + " file " + Quote(file.path);
    if (auto problem = PathRuleViolation(file.path)) {
        return Error(ErrorCode::kMalformed, context + ": " + *problem);
    }
    HVKIT_ASSIGN_OR_RETURN(std::string component, JsonString(entry, "component", context));
    HVKIT_ASSIGN_OR_RETURN(file.component, ParseComponent(component, context));
    HVKIT_ASSIGN_OR_RETURN(file.source, JsonString(entry, "source", context));
    if (file.source.empty()) return Error(ErrorCode::kMalformed, context + ": source is empty");
    if (file.source[0] != '/') file.source = base_dir + "/" + file.source;
    if (entry.Find("mode")) {
        HVKIT_ASSIGN_OR_RETURN(std::string mode, JsonString(entry, "mode", context));
        HVKIT_ASSIGN_OR_RETURN(file.mode, ParseMode(mode, context));
    }
    return file;
}

}  // namespace

Result<Recipe> RecipeFromJson(const Json& doc, const std::string& base_dir,
                              std::string_view what_view) {
    std::string what(what_view);
    if (!doc.is_object()) return Error(ErrorCode::kMalformed, what + ": expected a JSON object");
    for (const auto& [key, value] : doc.as_object()) {
        if (key != "name" && key != "version" && key != "min_installed_version" && key != "files") {
            return Error(ErrorCode::kMalformed, what + ": unknown field " + Quote(key));
        }
    }
    Recipe recipe;
    HVKIT_ASSIGN_OR_RETURN(recipe.name, JsonString(doc, "name", what));
    if (!IsValidPackageName(recipe.name)) {
        return Error(ErrorCode::kMalformed,
                     what + ": name " + Quote(recipe.name) +
                         " must be 1-64 characters of [a-z0-9._+-], starting with a letter or "
                         "digit");
    }
    HVKIT_ASSIGN_OR_RETURN(std::string version, JsonString(doc, "version", what));
    HVKIT_ASSIGN_OR_RETURN(recipe.version, SemVer::Parse(version, what + " version"));
    HVKIT_ASSIGN_OR_RETURN(std::string min_installed,
                           JsonString(doc, "min_installed_version", what));
    HVKIT_ASSIGN_OR_RETURN(recipe.min_installed_version,
                           SemVer::Parse(min_installed, what + " min_installed_version"));
    HVKIT_ASSIGN_OR_RETURN(const Json* files, JsonMember(doc, "files", Json::Type::kArray, what));
    for (const Json& entry : files->as_array()) {
        HVKIT_ASSIGN_OR_RETURN(RecipeFile file, RecipeFileFromJson(entry, base_dir, what));
        recipe.files.push_back(std::move(file));
    }
    return recipe;
}

Result<Recipe> LoadRecipe(const std::string& path) {
    HVKIT_ASSIGN_OR_RETURN(std::string text, ReadFile(path, kMaxRecipeBytes));
    HVKIT_ASSIGN_OR_RETURN(Json doc, ParseJson(text, path));
    return RecipeFromJson(doc, DirName(path), path);
}

Result<Manifest> ManifestFromRecipe(const Recipe& recipe) {
    Manifest m;
    m.name = recipe.name;
    m.version = recipe.version;
    m.min_installed_version = recipe.min_installed_version;
    for (const auto& rf : recipe.files) {
        struct stat st;
        if (stat(rf.source.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
            return Error(ErrorCode::kNotFound, "source " + rf.source + " of " + Quote(rf.path) +
                                                   " is not a readable regular file");
        }
        PackageFile file;
        file.path = rf.path;
        file.component = rf.component;
        file.mode = rf.mode;
        Sha256 hash;
        HVKIT_RETURN_IF_ERROR(ForEachChunk(rf.source, [&](const char* data, size_t size) {
            hash.Update(data, size);
            file.size += size;
            return Status::Ok();
        }));
        file.sha256 = HexEncode(hash.Final());
        m.files.push_back(std::move(file));
    }
    // Round trip through the schema: duplicates, conflicts and bad versions
    // are refused here with the same words a reader would use.
    return Manifest::FromJson(m.ToJson(), "recipe for " + recipe.name);
}

Result<Manifest> BuildPackage(const Recipe& recipe, const std::vector<PrivateKey>& keys,
                              const std::string& out, const WriterOptions& options) {
    HVKIT_ASSIGN_OR_RETURN(Manifest manifest, ManifestFromRecipe(recipe));
    SignedEnvelope envelope;
    envelope.signed_body = manifest.ToJson();
    for (const auto& key : keys) HVKIT_RETURN_IF_ERROR(envelope.Sign(key));
    HVKIT_ASSIGN_OR_RETURN(auto writer, PackageWriter::Create(out, options));
    HVKIT_RETURN_IF_ERROR(writer->AddManifest(envelope));
    for (const auto& rf : recipe.files) {
        const PackageFile* file = manifest.Find(rf.path);
        HVKIT_RETURN_IF_ERROR(writer->BeginFile(*file));
        HVKIT_RETURN_IF_ERROR(ForEachChunk(
            rf.source, [&](const char* data, size_t size) { return writer->Write(data, size); }));
        HVKIT_RETURN_IF_ERROR(writer->EndFile());
    }
    HVKIT_RETURN_IF_ERROR(writer->Commit());
    return manifest;
}

}  // namespace hvkit
