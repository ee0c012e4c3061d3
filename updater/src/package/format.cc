#include "hvkit/package/format.h"

namespace hvkit {

std::string PayloadEntryName(std::string_view install_path) {
    return std::string(kPayloadPrefix) + std::string(install_path);
}

const char* CompressionName(Compression compression) {
    switch (compression) {
        case Compression::kNone:
            return "none";
        case Compression::kZstd:
            return "zstd";
        case Compression::kXz:
            return "xz";
    }
    return "?";
}

Result<Compression> ParseCompression(std::string_view name, std::string_view what) {
    for (Compression c : {Compression::kNone, Compression::kZstd, Compression::kXz}) {
        if (name == CompressionName(c)) return c;
    }
    return Error(ErrorCode::kInvalidArgument, std::string(what) + ": unknown compression '" +
                                                  std::string(name) + "' (use zstd or xz)");
}

}  // namespace hvkit
