// The chain table (ring ABI 0.2, docs/filter-rings.md "Chain table"): how
// the host tells the guest which modules, with which parameters, filter the
// items of each chain. hvfilterd encodes it from its configuration and
// Format puts it in the region; the guest decodes the copy Attach made.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "hvkit/filter_ring.h"
#include "hvkit/json.h"
#include "hvkit/status.h"

namespace hvkit::filter_ring {

// One module step: the module's name (its shared object is NAME.so in the
// guest's module directories) and its parameters, passed to it as they are.
struct ChainModule {
    std::string module;
    Json params = Json::MakeObject();
};

// The chain requests with `chain` == its index use.
struct ChainSpec {
    std::string source;  // the host's name for the source, for messages and counters
    ItemSource kind = ItemSource::kNetwork;
    std::vector<ChainModule> modules;  // in order; never empty
};

// The table as JSON: {"version":1,"chains":[{"source":..,"kind":..,"modules":[..]}]}.
std::string EncodeChainTable(const std::vector<ChainSpec>& chains);

// Decodes and checks (text). Errors name the key and the rule:
// "chain table: chains[1].modules[0].module: \"../x\" is not a module name".
// A guest treats a table it refuses like a broken region: it answers nothing
// and the host's policies apply.
Result<std::vector<ChainSpec>> DecodeChainTable(std::string_view text);

// Whether (name) can name a module: 1..64 of a-z, 0-9, '_', '-' (no path).
bool IsModuleName(std::string_view name);

}  // namespace hvkit::filter_ring
