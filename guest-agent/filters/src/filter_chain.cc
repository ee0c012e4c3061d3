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
    // (current) is what the next module sees: the caller's bytes until a
    // module changes them, then the latest changed copy.
    std::vector<uint8_t> latest;
    std::span<const uint8_t> current = item.bytes;
    std::vector<uint8_t> changed;
    std::vector<char> error_text(std::max<size_t>(limits_.error_text_bytes, 1));

    for (const ModuleInstance& instance : modules_) {
        changed.assign(std::max(limits_.max_changed_bytes, current.size()), 0);
        error_text.assign(error_text.size(), '\0');
        hvfilter_item view{static_cast<uint32_t>(item.source), current.data(), current.size(),
                           item.path.c_str()};
        hvfilter_result result{changed.data(), changed.size(), 0, error_text.data(),
                               error_text.size()};
        int verdict = instance.module().table().inspect(instance.handle(), &view, &result);
        switch (verdict) {
            case HVFILTER_INSPECT_PASS:
                break;
            case HVFILTER_INSPECT_DROP:
                outcome.verdict = FilterVerdict::kDrop;
                outcome.changed.clear();
                outcome.dropped_by = instance.module().name();
                error_text.back() = '\0';
                outcome.drop_reason = error_text.data();
                return outcome;
            case HVFILTER_INSPECT_CHANGED:
                if (result.changed_len > changed.size()) {
                    return ModuleFailure(instance, "claims " + std::to_string(result.changed_len) +
                                                       " changed bytes in a buffer of " +
                                                       std::to_string(changed.size()));
                }
                changed.resize(result.changed_len);
                latest.swap(changed);
                current = latest;
                outcome.verdict = FilterVerdict::kChanged;
                break;
            case HVFILTER_INSPECT_ERROR:
                return ModuleFailure(instance, "failed: " + ErrorText(error_text));
            default:
                return ModuleFailure(instance, "returned unknown verdict " +
                                                   std::to_string(verdict) +
                                                   " (pass 0, drop 1, changed 2, error -1)");
        }
    }
    if (outcome.verdict == FilterVerdict::kChanged) outcome.changed = std::move(latest);
    return outcome;
}

}  // namespace hvkit::filters
