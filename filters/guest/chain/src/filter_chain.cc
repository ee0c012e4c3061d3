#include "hvkit/filter_chain.h"

#include <algorithm>

namespace hvkit::filters {

const char* FilterVerdictName(FilterVerdict verdict) {
    switch (verdict) {
        case FilterVerdict::kPass:
            return "pass";
        case FilterVerdict::kDrop:
            return "drop";
        case FilterVerdict::kChanged:
            return "changed";
    }
    return "unknown";
}

namespace {

Status ModuleFailure(const ModuleInstance& instance, const std::string& what) {
    return Error(ErrorCode::kConflict, instance.module().Describe() + ": " + what);
}

// The error text a module wrote, made safe to read whatever it did.
std::string ErrorText(std::vector<char>& buffer) {
    buffer.back() = '\0';
    std::string text(buffer.data());
    return text.empty() ? "no reason given" : text;
}

}  // namespace

Result<FilterOutcome> Chain::Run(const FilterItem& item) {
    FilterOutcome outcome;
    // Two scratch buffers, kept between items and never cleared (a module
    // writes before the chain reads, and only changed_len bytes are read):
    // a module writes into one while the other holds what it sees.
    const size_t capacity = std::max(limits_.max_changed_bytes, item.bytes.size());
    for (std::vector<uint8_t>& buffer : buffers_) {
        if (buffer.size() < capacity) buffer.resize(capacity);
    }
    error_text_.resize(std::max<size_t>(limits_.error_text_bytes, 1));
    std::span<const uint8_t> current = item.bytes;
    size_t target = 0;

    for (size_t position = 0; position < modules_.size(); ++position) {
        const ModuleInstance& instance = modules_[position];
        error_text_.front() = '\0';
        uint8_t* out = buffers_[target].data();
        hvfilter_item view{static_cast<uint32_t>(item.source), current.data(), current.size(),
                           item.path.c_str()};
        hvfilter_result result{out, capacity, 0, error_text_.data(), error_text_.size()};
        int verdict = instance.module().table().inspect(instance.handle(), &view, &result);
        error_text_.back() = '\0';
        switch (verdict) {
            case HVFILTER_INSPECT_PASS:
                break;
            case HVFILTER_INSPECT_DROP:
                outcome.verdict = FilterVerdict::kDrop;
                outcome.changed.clear();
                outcome.dropped_by = instance.module().name();
                outcome.dropped_at = position;
                outcome.drop_reason = error_text_.data();
                return outcome;
            case HVFILTER_INSPECT_CHANGED:
                if (result.changed_len > capacity) {
                    return ModuleFailure(instance, "claims " + std::to_string(result.changed_len) +
                                                       " changed bytes in a buffer of " +
                                                       std::to_string(capacity));
                }
                current = std::span<const uint8_t>(out, result.changed_len);
                target ^= 1;
                outcome.verdict = FilterVerdict::kChanged;
                break;
            case HVFILTER_INSPECT_ERROR:
                return ModuleFailure(instance, "failed: " + ErrorText(error_text_));
            default:
                return ModuleFailure(instance, "returned unknown verdict " +
                                                   std::to_string(verdict) +
                                                   " (pass 0, drop 1, changed 2, error -1)");
        }
    }
    if (outcome.verdict == FilterVerdict::kChanged) {
        outcome.changed.assign(current.begin(), current.end());
    }
    return outcome;
}

}  // namespace hvkit::filters
