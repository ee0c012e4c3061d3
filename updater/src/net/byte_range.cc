#include "hvkit/net/byte_range.h"

#include <charconv>

namespace hvkit {

namespace {

std::string_view Trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

// A non-empty run of decimal digits that fits in int64_t, and nothing else.
std::optional<int64_t> ParseCount(std::string_view s) {
    if (s.empty()) return std::nullopt;
    for (char c : s) {
        if (c < '0' || c > '9') return std::nullopt;
    }
    int64_t value = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
    if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
    return value;
}

bool StartsWithUnit(std::string_view s, std::string_view unit_and_sep) {
    if (s.size() < unit_and_sep.size()) return false;
    for (size_t i = 0; i < unit_and_sep.size(); ++i) {
        char c = s[i];
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
        if (c != unit_and_sep[i]) return false;
    }
    return true;
}

}  // namespace

RangeDecision DecideRange(std::string_view value, int64_t size) {
    RangeDecision full;
    value = Trim(value);
    if (!StartsWithUnit(value, "bytes=")) return full;
    std::string_view spec = Trim(value.substr(6));
    if (spec.find(',') != std::string_view::npos) return full;  // several ranges: not served
    size_t dash = spec.find('-');
    if (dash == std::string_view::npos) return full;
    std::string_view first_text = Trim(spec.substr(0, dash));
    std::string_view last_text = Trim(spec.substr(dash + 1));

    RangeDecision unsatisfiable;
    unsatisfiable.kind = RangeDecision::Kind::kUnsatisfiable;
    RangeDecision partial;
    partial.kind = RangeDecision::Kind::kPartial;

    if (first_text.empty()) {  // "bytes=-n": the last n bytes
        auto suffix = ParseCount(last_text);
        if (!suffix) return full;
        if (*suffix == 0 || size == 0) return unsatisfiable;
        partial.range = {*suffix >= size ? 0 : size - *suffix, size - 1};
        return partial;
    }
    auto first = ParseCount(first_text);
    if (!first) return full;
    std::optional<int64_t> last;
    if (!last_text.empty()) {
        last = ParseCount(last_text);
        if (!last || *last < *first) return full;  // invalid range-spec: ignored
    }
    if (*first >= size) return unsatisfiable;
    partial.range = {*first, last && *last < size ? *last : size - 1};
    return partial;
}

std::string FormatRangeFrom(int64_t first) {
    return "bytes=" + std::to_string(first) + "-";
}

std::string FormatContentRange(const ByteRange& range, int64_t size) {
    return "bytes " + std::to_string(range.first) + "-" + std::to_string(range.last) + "/" +
           std::to_string(size);
}

std::string FormatUnsatisfiedRange(int64_t size) {
    return "bytes */" + std::to_string(size);
}

Result<ContentRange> ParseContentRange(std::string_view value) {
    auto malformed = [&] {
        return Error(ErrorCode::kMalformed,
                     "malformed Content-Range '" + std::string(value) +
                         "': expected 'bytes first-last/size' or 'bytes */size'");
    };
    std::string_view s = Trim(value);
    if (!StartsWithUnit(s, "bytes ")) return malformed();
    s = Trim(s.substr(6));
    size_t slash = s.find('/');
    if (slash == std::string_view::npos) return malformed();
    std::string_view range_text = s.substr(0, slash);
    std::string_view size_text = s.substr(slash + 1);

    ContentRange out;
    if (size_text != "*") {
        auto size = ParseCount(size_text);
        if (!size) return malformed();
        out.size = *size;
    }
    if (range_text == "*") {
        if (out.size < 0) return malformed();  // "bytes */*" says nothing
        return out;
    }
    size_t dash = range_text.find('-');
    if (dash == std::string_view::npos) return malformed();
    auto first = ParseCount(range_text.substr(0, dash));
    auto last = ParseCount(range_text.substr(dash + 1));
    if (!first || !last || *last < *first) return malformed();
    if (out.size >= 0 && *last >= out.size) return malformed();
    out.range = ByteRange{*first, *last};
    return out;
}

}  // namespace hvkit
