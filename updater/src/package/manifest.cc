#include "hvkit/package/manifest.h"

#include <algorithm>
#include <set>

#include "hvkit/package/path_rules.h"

namespace hvkit {

namespace {

Status Malformed(std::string_view what, const std::string& rule) {
    return Error(ErrorCode::kMalformed, std::string(what) + ": " + rule);
}

Status CheckKnownFields(const Json& object, std::initializer_list<std::string_view> known,
                        std::string_view what) {
    for (const auto& [key, value] : object.as_object()) {
        if (std::find(known.begin(), known.end(), key) == known.end()) {
            return Malformed(what, "unknown field " + Quote(key));
        }
    }
    return Status::Ok();
}

bool IsLowerHex(std::string_view s) {
    return std::all_of(s.begin(), s.end(),
                       [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

Result<PackageFile> FileFromJson(const Json& entry, std::string_view what) {
    if (!entry.is_object()) return Malformed(what, "each file must be an object");
    HVKIT_ASSIGN_OR_RETURN(std::string path, JsonString(entry, "path", what));
    std::string context = std::string(what) + " file " + Quote(path);
    if (auto problem = PathRuleViolation(path)) return Malformed(context, *problem);
    HVKIT_RETURN_IF_ERROR(
        CheckKnownFields(entry, {"path", "component", "size", "mode", "sha256"}, context));
    PackageFile file;
    file.path = std::move(path);
    HVKIT_ASSIGN_OR_RETURN(std::string component, JsonString(entry, "component", context));
    HVKIT_ASSIGN_OR_RETURN(file.component, ParseComponent(component, context));
    HVKIT_ASSIGN_OR_RETURN(int64_t size, JsonInt(entry, "size", context));
    if (size < 0) return Malformed(context, "size must not be negative");
    file.size = static_cast<uint64_t>(size);
    HVKIT_ASSIGN_OR_RETURN(std::string mode, JsonString(entry, "mode", context));
    HVKIT_ASSIGN_OR_RETURN(file.mode, ParseMode(mode, context));
    HVKIT_ASSIGN_OR_RETURN(file.sha256, JsonString(entry, "sha256", context));
    if (file.sha256.size() != 64 || !IsLowerHex(file.sha256)) {
        return Malformed(context, "sha256 must be 64 lower-case hex digits");
    }
    return file;
}

// "a" and "a/b" cannot both be files: "a" would have to be a directory.
Status CheckNoFileIsADirectory(const std::vector<PackageFile>& files, std::string_view what) {
    std::set<std::string_view> paths;
    for (const auto& f : files) paths.insert(f.path);
    for (const auto& f : files) {
        for (size_t slash = f.path.find('/'); slash != std::string::npos;
             slash = f.path.find('/', slash + 1)) {
            std::string_view parent = std::string_view(f.path).substr(0, slash);
            if (paths.count(parent)) {
                return Malformed(what, "file " + Quote(f.path) + " needs " + Quote(parent) +
                                           " to be a directory, but it is also listed as a file");
            }
        }
    }
    return Status::Ok();
}

}  // namespace

uint64_t Manifest::TotalBytes() const {
    uint64_t total = 0;
    for (const auto& f : files) total += f.size;
    return total;
}

const PackageFile* Manifest::Find(std::string_view path) const {
    auto it = std::lower_bound(files.begin(), files.end(), path,
                               [](const PackageFile& f, std::string_view p) { return f.path < p; });
    if (it == files.end() || it->path != path) return nullptr;
    return &*it;
}

Json Manifest::ToJson() const {
    std::vector<const PackageFile*> sorted;
    for (const auto& f : files) sorted.push_back(&f);
    std::sort(sorted.begin(), sorted.end(),
              [](const PackageFile* a, const PackageFile* b) { return a->path < b->path; });
    Json list = Json::MakeArray();
    for (const PackageFile* f : sorted) {
        Json entry;
        entry["path"] = f->path;
        entry["component"] = ComponentName(f->component);
        entry["size"] = f->size;
        entry["mode"] = FormatMode(f->mode);
        entry["sha256"] = f->sha256;
        list.Push(std::move(entry));
    }
    Json body;
    body["_type"] = kPackageManifestType;
    body["format_version"] = kPackageFormatVersion;
    body["name"] = name;
    body["version"] = version.ToString();
    body["min_installed_version"] = min_installed_version.ToString();
    body["files"] = std::move(list);
    return body;
}

Result<Manifest> Manifest::FromJson(const Json& body, std::string_view what) {
    if (!body.is_object()) return Malformed(what, "the signed manifest must be an object");
    HVKIT_RETURN_IF_ERROR(CheckKnownFields(
        body, {"_type", "format_version", "name", "version", "min_installed_version", "files"},
        what));
    HVKIT_ASSIGN_OR_RETURN(std::string type, JsonString(body, "_type", what));
    if (type != kPackageManifestType) {
        return Malformed(what, "_type is " + Quote(type) + ", expected '" +
                                   std::string(kPackageManifestType) + "'");
    }
    HVKIT_ASSIGN_OR_RETURN(int64_t format, JsonInt(body, "format_version", what));
    if (format != kPackageFormatVersion) {
        return Malformed(what, "format_version " + std::to_string(format) +
                                   " is not supported (this build reads version " +
                                   std::to_string(kPackageFormatVersion) + "); upgrade hvkit");
    }
    Manifest m;
    HVKIT_ASSIGN_OR_RETURN(m.name, JsonString(body, "name", what));
    if (!IsValidPackageName(m.name)) {
        return Malformed(what, "name " + Quote(m.name) +
                                   " must be 1-64 characters of [a-z0-9._+-], starting with "
                                   "a letter or digit");
    }
    HVKIT_ASSIGN_OR_RETURN(std::string version, JsonString(body, "version", what));
    HVKIT_ASSIGN_OR_RETURN(m.version, SemVer::Parse(version, std::string(what) + " version"));
    HVKIT_ASSIGN_OR_RETURN(std::string min_installed,
                           JsonString(body, "min_installed_version", what));
    HVKIT_ASSIGN_OR_RETURN(
        m.min_installed_version,
        SemVer::Parse(min_installed, std::string(what) + " min_installed_version"));
    if (m.min_installed_version > m.version) {
        return Malformed(what, "min_installed_version " + min_installed +
                                   " is newer than the package version " + version);
    }
    HVKIT_ASSIGN_OR_RETURN(const Json* files, JsonMember(body, "files", Json::Type::kArray, what));
    for (const Json& entry : files->as_array()) {
        HVKIT_ASSIGN_OR_RETURN(PackageFile file, FileFromJson(entry, what));
        m.files.push_back(std::move(file));
    }
    std::sort(m.files.begin(), m.files.end(),
              [](const PackageFile& a, const PackageFile& b) { return a.path < b.path; });
    for (size_t i = 1; i < m.files.size(); ++i) {
        if (m.files[i].path == m.files[i - 1].path) {
            return Malformed(what, "file " + Quote(m.files[i].path) + " is listed twice");
        }
    }
    HVKIT_RETURN_IF_ERROR(CheckNoFileIsADirectory(m.files, what));
    return m;
}

Status CheckUpgradeFrom(const Manifest& manifest, const SemVer& installed) {
    std::string package = "package " + manifest.name + " " + manifest.version.ToString();
    if (installed < manifest.min_installed_version) {
        return Error(ErrorCode::kConflict, package + " may only replace version " +
                                               manifest.min_installed_version.ToString() +
                                               " or newer; installed is " + installed.ToString() +
                                               ": install an intermediate version first");
    }
    if (manifest.version <= installed) {
        return Error(ErrorCode::kRollback, package + " is not newer than the installed version " +
                                               installed.ToString() + ": refusing a rollback");
    }
    return Status::Ok();
}

std::string FormatMode(uint32_t mode) {
    std::string out(4, '0');
    for (int i = 3; i >= 0; --i) {
        out[static_cast<size_t>(i)] = static_cast<char>('0' + (mode & 7));
        mode >>= 3;
    }
    return out;
}

Result<uint32_t> ParseMode(std::string_view text, std::string_view what) {
    bool octal = text.size() == 4 &&
                 std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '7'; });
    if (!octal) {
        return Malformed(what, "mode " + Quote(text) + " must be four octal digits, e.g. '0644'");
    }
    uint32_t mode = 0;
    for (char c : text) mode = mode * 8 + static_cast<uint32_t>(c - '0');
    return mode;
}

bool IsValidPackageName(std::string_view name) {
    if (name.empty() || name.size() > 64) return false;
    auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
    if (!alnum(name[0])) return false;
    return std::all_of(name.begin(), name.end(), [&](char c) {
        return alnum(c) || c == '.' || c == '_' || c == '+' || c == '-';
    });
}

}  // namespace hvkit
