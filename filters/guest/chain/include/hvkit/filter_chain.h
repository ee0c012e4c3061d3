// An ordered chain of filter-module instances for one source, and the rules
// for running an item through it (docs/filter-modules.md, "The chain").
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "hvkit/filter_module.h"
#include "hvkit/loaded_module.h"
#include "hvkit/status.h"

namespace hvkit::filters {

// The chain's decision about one item.
enum class FilterVerdict { kPass, kDrop, kChanged };

const char* FilterVerdictName(FilterVerdict verdict);

// One item as the chain sees it; the bytes stay the caller's.
struct FilterItem {
    hvfilter_item_source source = HVFILTER_ITEM_NETWORK;
    std::span<const uint8_t> bytes;
    std::string path;  // file items; empty otherwise
};

// What the chain decided and, for kChanged, the item's final bytes.
struct FilterOutcome {
    FilterVerdict verdict = FilterVerdict::kPass;
    std::vector<uint8_t> changed;  // empty unless verdict is kChanged
    std::string dropped_by;        // the module name, when verdict is kDrop
    size_t dropped_at = 0;         // its position in the chain, when verdict is kDrop
    std::string drop_reason;       // the rule it gave, if any, when verdict is kDrop
};

struct ChainLimits {
    // The largest item a module may return as CHANGED (and at least the item's
    // own size): the capacity of the buffer each module writes into.
    size_t max_changed_bytes = 256 * 1024;
    // Room for a module's error text.
    size_t error_text_bytes = 512;
};

class Chain {
  public:
    explicit Chain(ChainLimits limits = {}) : limits_(limits) {}

    // Appends (instance) as the last module the chain runs.
    void Append(ModuleInstance instance) { modules_.push_back(std::move(instance)); }
    size_t size() const { return modules_.size(); }

    // Runs (item) through the modules in order: PASS goes on, DROP stops the
    // chain, CHANGED replaces the bytes the next module sees. A module that
    // fails, answers an unknown verdict or claims more bytes than its buffer
    // holds is an error naming it; the caller's policy decides the item then.
    // An empty chain passes everything. One thread at a time.
    Result<FilterOutcome> Run(const FilterItem& item);

  private:
    ChainLimits limits_;
    std::vector<ModuleInstance> modules_;
    std::vector<uint8_t> buffers_[2];  // Run's scratch: what modules write
    std::vector<char> error_text_;
};

}  // namespace hvkit::filters
