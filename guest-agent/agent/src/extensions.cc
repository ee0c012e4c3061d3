// Guest extensions: staged per version, switched by symlink.
#include "hvkit/agent/extensions.h"

#include <dirent.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "hvkit/fs.h"
#include "hvkit/package/extract.h"

namespace hvkit::agent {

namespace {
constexpr const char* kVersionsPrefix = "versions/";
}  // namespace

std::string ExtensionStore::VersionDir(const std::string& version) const {
    return dir_ + "/versions/" + version;
}

bool ExtensionStore::Staged(const SemVer& version) const {
    return access(VersionDir(version.ToString()).c_str(), F_OK) == 0;
}

Status ExtensionStore::Stage(const std::string& package, const PackageTrustStore& trust,
                             const SemVer& version) {
    HVKIT_RETURN_IF_ERROR(MakeDirectories(dir_ + "/versions", fs_));
    std::string dest = VersionDir(version.ToString());
    std::string incoming = dest + ".incoming";
    HVKIT_RETURN_IF_ERROR(RemoveTree(incoming, fs_));
    ExtractOptions options;
    options.components = {Component::kGuestExtension, Component::kFilterModule, Component::kConfig};
    options.file_system = &fs_;
    HVKIT_ASSIGN_OR_RETURN(PackageInfo info, ExtractPackageFile(package, trust, incoming, options));
    if (info.manifest.version != version) {
        (void)RemoveTree(incoming, fs_);
        return Error(ErrorCode::kConflict, "package " + package + " is version " +
                                               info.manifest.version.ToString() + ", not " +
                                               version.ToString());
    }
    HVKIT_ASSIGN_OR_RETURN(std::optional<std::string> current, Current());
    if (current == version.ToString()) {
        (void)RemoveTree(incoming, fs_);
        return Status::Ok();  // already installed and in use: nothing to replace
    }
    HVKIT_RETURN_IF_ERROR(RemoveTree(dest, fs_));
    if (fs_.RenameAt(AT_FDCWD, incoming.c_str(), AT_FDCWD, dest.c_str()) != 0) {
        return Error(ErrorCode::kIo, "moving " + incoming + " into place: " + strerror(errno));
    }
    return SyncDirectory(dir_ + "/versions", fs_);
}

Result<std::optional<std::string>> ExtensionStore::Target(const std::string& link) const {
    std::string path = dir_ + "/" + link;
    HVKIT_ASSIGN_OR_RETURN(std::optional<std::string> target, ReadSymlink(path));
    if (!target) return std::optional<std::string>();
    if (target->rfind(kVersionsPrefix, 0) != 0 || target->size() == strlen(kVersionsPrefix)) {
        return Error(ErrorCode::kMalformed,
                     path + " points to \"" + *target + "\", not versions/*");
    }
    return std::optional<std::string>(target->substr(strlen(kVersionsPrefix)));
}

Result<std::optional<std::string>> ExtensionStore::Current() const {
    return Target("current");
}

Result<std::optional<std::string>> ExtensionStore::Previous() const {
    return Target("previous");
}

Status ExtensionStore::Point(const std::string& link, const std::string& version) {
    return ReplaceSymlink(dir_ + "/" + link, kVersionsPrefix + version, fs_);
}

Status ExtensionStore::Activate(const SemVer& version) {
    std::string v = version.ToString();
    if (!Staged(version)) {
        return Error(ErrorCode::kNotFound,
                     "guest extensions " + v + " are not in " + VersionDir(v));
    }
    HVKIT_ASSIGN_OR_RETURN(std::optional<std::string> current, Current());
    if (current == v) return Status::Ok();
    // previous first, each switch durable before the next: a crash between
    // the two leaves current as it was (previous pointing at it too), and
    // the agent's recovery, which knows the version the hypervisor committed,
    // calls Activate again. The other order could leave the old current
    // referenced by neither link, to be collected as garbage.
    if (current) HVKIT_RETURN_IF_ERROR(Point("previous", *current));
    HVKIT_RETURN_IF_ERROR(Point("current", v));
    return CollectGarbage();
}

Status ExtensionStore::RollBack() {
    HVKIT_ASSIGN_OR_RETURN(std::optional<std::string> current, Current());
    HVKIT_ASSIGN_OR_RETURN(std::optional<std::string> previous, Previous());
    if (!previous || previous == current) {
        return Error(ErrorCode::kNotFound, "no previous guest extensions to roll back to");
    }
    HVKIT_ASSIGN_OR_RETURN(SemVer back, SemVer::Parse(*previous, dir_ + "/previous"));
    return Activate(back);
}

Status ExtensionStore::Discard(const SemVer& version) {
    std::string v = version.ToString();
    HVKIT_ASSIGN_OR_RETURN(std::optional<std::string> current, Current());
    HVKIT_ASSIGN_OR_RETURN(std::optional<std::string> previous, Previous());
    if (current == v || previous == v) return Status::Ok();
    HVKIT_RETURN_IF_ERROR(RemoveTree(VersionDir(v) + ".incoming", fs_));
    return RemoveTree(VersionDir(v), fs_);
}

Status ExtensionStore::CollectGarbage() {
    HVKIT_ASSIGN_OR_RETURN(std::optional<std::string> current, Current());
    HVKIT_ASSIGN_OR_RETURN(std::optional<std::string> previous, Previous());
    DIR* d = opendir((dir_ + "/versions").c_str());
    if (d == nullptr) return Status::Ok();
    std::vector<std::string> stale;
    while (dirent* e = readdir(d)) {
        std::string name = e->d_name;
        if (name == "." || name == ".." || name == current || name == previous) continue;
        stale.push_back(name);
    }
    closedir(d);
    for (const auto& name : stale)
        HVKIT_RETURN_IF_ERROR(RemoveTree(dir_ + "/versions/" + name, fs_));
    return Status::Ok();
}

}  // namespace hvkit::agent
