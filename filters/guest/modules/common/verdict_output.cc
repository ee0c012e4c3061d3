#include "verdict_output.h"

#include <string>

#include "module_text.h"

namespace hvkit::filters {

Result<std::span<uint8_t>> VerdictOutput::Reserve(size_t size) {
    result_.changed_len = size;
    if (size > result_.changed_capacity || (size > 0 && result_.changed == nullptr)) {
        return Error(ErrorCode::kTooLarge, "the changed item needs " + std::to_string(size) +
                                               " bytes, the buffer holds " +
                                               std::to_string(result_.changed_capacity));
    }
    return std::span<uint8_t>(result_.changed, size);
}

void VerdictOutput::ExplainDrop(std::string_view rule) {
    WriteModuleText(result_.error, result_.error_capacity, rule);
}

}  // namespace hvkit::filters
