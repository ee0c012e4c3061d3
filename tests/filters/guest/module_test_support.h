// Loading the built filter modules in tests and running items through them.
// The modules' paths come from the build (compile definitions).
#pragma once

#include <string>
#include <vector>

#include "hvkit/filter_chain.h"
#include "hvkit/loaded_module.h"

namespace hvkit::testing {

// Appends an instance of the module at (path) made from (params_json) to (chain).
Status AppendModule(filters::Chain& chain, const std::string& path, const std::string& params_json);

// A chain of one instance of the module at (path) made from (params_json).
Result<filters::Chain> SingleModuleChain(const std::string& path, const std::string& params_json);

// The error (path) with (params_json) gives at load or create time, "" if none.
std::string LoadOrCreateError(const std::string& path, const std::string& params_json);

filters::FilterItem PacketItem(const std::vector<uint8_t>& packet);
filters::FilterItem FileItem(const std::string& content, const std::string& path);

// (bytes) as a string, for readable comparisons.
std::string AsText(const std::vector<uint8_t>& bytes);

}  // namespace hvkit::testing
