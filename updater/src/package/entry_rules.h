// Rules on a single archive entry's type, independent of the manifest.
// Internal to hvpackage.
#pragma once

#include <archive_entry.h>

#include <optional>
#include <string>
#include <string_view>

namespace hvkit::internal {

// Why (entry), named (name) in the archive, is not a plain regular file the
// package format allows (links that leave the destination are named as such),
// or nullopt when it is one.
std::optional<std::string> EntryTypeViolation(archive_entry* entry, std::string_view name);

}  // namespace hvkit::internal
