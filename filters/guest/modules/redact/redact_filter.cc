// The redact module: overwrites every occurrence of a literal pattern with as
// many replacement bytes, so the item keeps its length. For packets only the
// transport payload is touched; checksums are left for hvfilterd to redo.
#include <algorithm>
#include <cstring>
#include <memory>
#include <vector>

#include "module_entry.h"
#include "transport_payload.h"

namespace hvkit::filters {
namespace {

class RedactFilter {
  public:
    // Params: {"pattern": "<literal>", "replacement_byte": "<one byte>"}.
    static Result<std::unique_ptr<RedactFilter>> Create(const Json& params) {
        HVKIT_RETURN_IF_ERROR(CheckKnownParams(params, {"pattern", "replacement_byte"}));
        HVKIT_ASSIGN_OR_RETURN(std::string pattern, JsonString(params, "pattern", "params"));
        HVKIT_ASSIGN_OR_RETURN(std::string replacement,
                               JsonString(params, "replacement_byte", "params"));
        if (pattern.empty()) {
            return Error(ErrorCode::kInvalidArgument, "params: 'pattern' is empty");
        }
        if (replacement.size() != 1) {
            return Error(ErrorCode::kInvalidArgument,
                         "params: 'replacement_byte' must be exactly one byte, got " +
                             std::to_string(replacement.size()));
        }
        return std::unique_ptr<RedactFilter>(new RedactFilter(pattern, replacement[0]));
    }

    // A packet that is not TCP/UDP over IP, or whose headers do not parse,
    // passes untouched: there is no payload the module can name.
    Inspection Inspect(const hvfilter_item& item, VerdictOutput& out) {
        std::span<const uint8_t> bytes(item.bytes, item.len);
        PayloadRange region{0, bytes.size()};
        if (item.source == HVFILTER_ITEM_NETWORK) {
            std::optional<PayloadRange> payload = FindTransportPayload(bytes);
            if (!payload) return HVFILTER_INSPECT_PASS;
            region = *payload;
        }
        std::vector<size_t> hits = Occurrences(bytes.subspan(region.offset, region.length));
        if (hits.empty()) return HVFILTER_INSPECT_PASS;

        HVKIT_ASSIGN_OR_RETURN(std::span<uint8_t> changed, out.Reserve(bytes.size()));
        std::copy(bytes.begin(), bytes.end(), changed.begin());
        for (size_t hit : hits) {
            std::memset(changed.data() + region.offset + hit, replacement_, pattern_.size());
        }
        return HVFILTER_INSPECT_CHANGED;
    }

  private:
    RedactFilter(std::string pattern, char replacement)
        : pattern_(std::move(pattern)), replacement_(static_cast<uint8_t>(replacement)) {}

    // Start offsets of the non-overlapping occurrences in (text), left to right.
    std::vector<size_t> Occurrences(std::span<const uint8_t> text) const {
        std::vector<size_t> hits;
        auto needle = reinterpret_cast<const uint8_t*>(pattern_.data());
        auto at = text.begin();
        while (true) {
            at = std::search(at, text.end(), needle, needle + pattern_.size());
            if (at == text.end()) return hits;
            hits.push_back(static_cast<size_t>(at - text.begin()));
            at += static_cast<std::ptrdiff_t>(pattern_.size());
        }
    }

    std::string pattern_;
    uint8_t replacement_;
};

}  // namespace
}  // namespace hvkit::filters

extern "C" const hvfilter_module* hvfilter_module_v1(void) {
    static const hvfilter_module table =
        hvkit::filters::MakeModuleTable<hvkit::filters::RedactFilter>("redact", "1.0.0");
    return &table;
}
