// The caller's result buffers (hvfilter_result), written only with bounds
// checks: a module that needs more room gets an error, never an overrun.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "hvkit/filter_module.h"
#include "hvkit/status.h"

namespace hvkit::filters {

class VerdictOutput {
  public:
    explicit VerdictOutput(hvfilter_result& result) : result_(result) {}

    // Room for the whole changed item of (size) bytes, or an error naming both
    // sizes (and result.changed_len set to (size), as the ABI asks).
    Result<std::span<uint8_t>> Reserve(size_t size);

    // Records (rule), the reason for a DROP, in the caller's text buffer.
    void ExplainDrop(std::string_view rule);

  private:
    hvfilter_result& result_;
};

}  // namespace hvkit::filters
