// The rules every path in a package obeys, shared by the manifest parser (install
// paths), the extractor (archive entry names) and the recipe loader, so a path
// accepted in one place is accepted in all of them.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace hvkit {

constexpr size_t kMaxPathBytes = 4096;
constexpr size_t kMaxPathComponentBytes = 255;

// Why (path) may not name a file under the destination, or nullopt when it may.
// A path is relative, in normal form ("a/b", never "a//b", "./a" or "a/"), has
// no ".." component, only printable ASCII (no locale or Unicode normalisation
// surprises between writer, reader and filesystem) and fits kMaxPath*Bytes.
std::optional<std::string> PathRuleViolation(std::string_view path);

// True when a symlink at (link_path) (relative to the destination) pointing at
// (target) would resolve outside the destination, judged lexically.
bool SymlinkTargetLeaves(std::string_view link_path, std::string_view target);

// (text) in single quotes for an error message; bytes that are not printable
// ASCII appear as \xNN so a hostile name cannot forge output.
std::string Quote(std::string_view text);

}  // namespace hvkit
