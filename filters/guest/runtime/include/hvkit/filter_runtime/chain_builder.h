// Building a module chain the way the guest runtime does: each module is
// NAME.so in the first of the module directories that has it, created with
// its parameters. The chain worker and `hvagent scan` both use it.
#pragma once

#include <string>
#include <vector>

#include "hvkit/filter_chain.h"
#include "hvkit/filter_chain_table.h"
#include "hvkit/status.h"

namespace hvkit::filter_runtime {

// The absolute path of NAME.so in the first of (dirs) that has it (a
// relative directory is taken from the working directory); kNotFound naming
// the directories searched otherwise.
Result<std::string> FindModule(const std::string& name, const std::vector<std::string>& dirs);

// (spec)'s modules, found in (dirs), loaded and created in order. Errors name
// the module and its reason ("filter module signature (...): ...").
Result<filters::Chain> BuildChain(const filter_ring::ChainSpec& spec,
                                  const std::vector<std::string>& dirs,
                                  filters::ChainLimits limits = {});

}  // namespace hvkit::filter_runtime
