// The signature file the signature module reads (docs/filter-modules.md,
// "Signature files"): one signature per line, `name: <hex bytes>` or
// `name: "<string>"`, with # comments and blank lines ignored.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "hvkit/status.h"

namespace hvkit::filters {

struct Signature {
    std::string name;
    std::string bytes;  // the pattern, any bytes
    size_t line = 0;    // where it was defined
};

// Parses signature file (text); errors read "<file>:<line>: <problem>", with
// (file) the name given. Refuses a file with no signatures.
Result<std::vector<Signature>> ParseSignatures(std::string_view text, std::string_view file);

// Reads and parses the signature file at (path).
Result<std::vector<Signature>> LoadSignatureFile(const std::string& path);

}  // namespace hvkit::filters
