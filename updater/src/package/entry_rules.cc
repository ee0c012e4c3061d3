#include "entry_rules.h"

#include "hvkit/package/format.h"
#include "hvkit/package/path_rules.h"

namespace hvkit::internal {

namespace {

// The entry's path relative to the destination (payload/ stripped).
std::string_view InstallPathOf(std::string_view name) {
    if (name.substr(0, kPayloadPrefix.size()) == kPayloadPrefix) {
        return name.substr(kPayloadPrefix.size());
    }
    return name;
}

}  // namespace

std::optional<std::string> EntryTypeViolation(archive_entry* entry, std::string_view name) {
    if (const char* target = archive_entry_hardlink(entry)) {
        std::string_view t(target);
        bool leaves = PathRuleViolation(t).has_value() ||
                      t.substr(0, kPayloadPrefix.size()) != kPayloadPrefix;
        if (leaves) return "hardlink to " + Quote(t) + " leaves the destination";
        return "hardlinks are not part of the package format (link to " + Quote(t) + ")";
    }
    mode_t type = archive_entry_filetype(entry);
    if (type == AE_IFLNK || archive_entry_symlink(entry) != nullptr) {
        const char* target = archive_entry_symlink(entry);
        std::string_view t = target ? target : "";
        if (SymlinkTargetLeaves(InstallPathOf(name), t)) {
            return "symlink to " + Quote(t) + " leaves the destination";
        }
        return "symlinks are not part of the package format (link to " + Quote(t) + ")";
    }
    switch (type) {
        case AE_IFREG:
            return std::nullopt;
        case AE_IFCHR:
        case AE_IFBLK:
            return "device nodes are not allowed";
        case AE_IFIFO:
            return "fifos are not allowed";
        case AE_IFSOCK:
            return "sockets are not allowed";
        case AE_IFDIR:
            return "directory entries are not part of the package format (directories are "
                   "implied by file paths)";
        default:
            return "entries of this type are not allowed";
    }
}

}  // namespace hvkit::internal
