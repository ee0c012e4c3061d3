// The archive layout of a .hvpkg package (docs/package-format.md): a tar
// stream, zstd- or xz-compressed, whose first entry is "manifest.json" (the
// signed manifest) followed by one regular-file entry "payload/<install path>"
// per manifest file. Nothing else: no directories, links or special files.
#pragma once

#include <string>
#include <string_view>

#include "hvkit/status.h"

namespace hvkit {

inline constexpr std::string_view kManifestEntryName = "manifest.json";
inline constexpr std::string_view kPayloadPrefix = "payload/";

// "payload/" + (install_path).
std::string PayloadEntryName(std::string_view install_path);

// The compression filter around the tar stream. kNone exists for tests and
// fuzzing; published packages use kZstd (default) or kXz.
enum class Compression { kNone, kZstd, kXz };

// "none", "zstd" or "xz".
const char* CompressionName(Compression compression);
// The compression spelled (name); (what) names the setting in errors.
Result<Compression> ParseCompression(std::string_view name, std::string_view what);

}  // namespace hvkit
