#include "hvkit/semver.h"

#include <algorithm>
#include <limits>

namespace hvkit {

namespace {

bool IsDigit(char c) {
    return c >= '0' && c <= '9';
}

bool IsIdentifierChar(char c) {
    return IsDigit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-';
}

bool IsNumeric(std::string_view s) {
    return !s.empty() && std::all_of(s.begin(), s.end(), IsDigit);
}

std::vector<std::string_view> SplitDots(std::string_view s) {
    std::vector<std::string_view> parts;
    size_t start = 0;
    for (;;) {
        size_t dot = s.find('.', start);
        parts.push_back(s.substr(start, dot == std::string_view::npos ? dot : dot - start));
        if (dot == std::string_view::npos) break;
        start = dot + 1;
    }
    return parts;
}

class VersionError {
  public:
    VersionError(std::string_view text, std::string_view what) : text_(text), what_(what) {}
    Status operator()(const std::string& rule) const {
        return Error(ErrorCode::kMalformed,
                     std::string(what_) + ": '" + std::string(text_) +
                         "' is not a semantic version (MAJOR.MINOR.PATCH): " + rule);
    }

  private:
    std::string_view text_;
    std::string_view what_;
};

Result<uint64_t> ParseNumber(std::string_view s, const char* name, const VersionError& fail) {
    if (s.empty()) return fail(std::string(name) + " is empty");
    if (!IsNumeric(s)) return fail(std::string(name) + " '" + std::string(s) + "' is not a number");
    if (s.size() > 1 && s[0] == '0') return fail(std::string(name) + " has a leading zero");
    uint64_t value = 0;
    for (char c : s) {
        uint64_t digit = static_cast<uint64_t>(c - '0');
        if (value > (std::numeric_limits<uint64_t>::max() - digit) / 10) {
            return fail(std::string(name) + " is too large");
        }
        value = value * 10 + digit;
    }
    return value;
}

Status CheckIdentifiers(std::string_view s, const char* name, bool numeric_rules,
                        const VersionError& fail) {
    for (std::string_view id : SplitDots(s)) {
        if (id.empty()) return fail(std::string(name) + " has an empty identifier");
        if (!std::all_of(id.begin(), id.end(), IsIdentifierChar)) {
            return fail(std::string(name) + " identifier '" + std::string(id) +
                        "' may only hold [0-9A-Za-z-]");
        }
        if (numeric_rules && IsNumeric(id) && id.size() > 1 && id[0] == '0') {
            return fail(std::string(name) + " identifier '" + std::string(id) +
                        "' has a leading zero");
        }
    }
    return Status::Ok();
}

// Pre-release identifier precedence (semver 2.0.0, 11.4).
std::strong_ordering CompareIdentifier(const std::string& a, const std::string& b) {
    bool an = IsNumeric(a);
    bool bn = IsNumeric(b);
    if (an && bn) {
        if (a.size() != b.size()) return a.size() <=> b.size();  // no leading zeros
        return a.compare(b) <=> 0;
    }
    if (an != bn) return an ? std::strong_ordering::less : std::strong_ordering::greater;
    return a.compare(b) <=> 0;
}

}  // namespace

Result<SemVer> SemVer::Parse(std::string_view text, std::string_view what) {
    VersionError fail(text, what);
    if (text.empty()) return fail("it is empty");
    std::string_view rest = text;
    SemVer v;
    size_t plus = rest.find('+');
    if (plus != std::string_view::npos) {
        std::string_view build = rest.substr(plus + 1);
        HVKIT_RETURN_IF_ERROR(CheckIdentifiers(build, "build metadata", false, fail));
        v.build_ = std::string(build);
        rest = rest.substr(0, plus);
    }
    size_t dash = rest.find('-');
    if (dash != std::string_view::npos) {
        std::string_view pre = rest.substr(dash + 1);
        HVKIT_RETURN_IF_ERROR(CheckIdentifiers(pre, "pre-release", true, fail));
        for (std::string_view id : SplitDots(pre)) v.prerelease_.emplace_back(id);
        rest = rest.substr(0, dash);
    }
    std::vector<std::string_view> core = SplitDots(rest);
    if (core.size() != 3) {
        return fail("expected three numbers separated by dots, found " +
                    std::to_string(core.size()));
    }
    HVKIT_ASSIGN_OR_RETURN(v.major_, ParseNumber(core[0], "major", fail));
    HVKIT_ASSIGN_OR_RETURN(v.minor_, ParseNumber(core[1], "minor", fail));
    HVKIT_ASSIGN_OR_RETURN(v.patch_, ParseNumber(core[2], "patch", fail));
    return v;
}

std::string SemVer::ToString() const {
    std::string out =
        std::to_string(major_) + "." + std::to_string(minor_) + "." + std::to_string(patch_);
    for (size_t i = 0; i < prerelease_.size(); ++i) out += (i == 0 ? "-" : ".") + prerelease_[i];
    if (!build_.empty()) out += "+" + build_;
    return out;
}

std::strong_ordering SemVer::operator<=>(const SemVer& other) const {
    if (auto c = major_ <=> other.major_; c != 0) return c;
    if (auto c = minor_ <=> other.minor_; c != 0) return c;
    if (auto c = patch_ <=> other.patch_; c != 0) return c;
    if (prerelease_.empty() || other.prerelease_.empty()) {
        // A release outranks any of its pre-releases.
        return other.prerelease_.size() == 0 && prerelease_.size() == 0
                   ? std::strong_ordering::equal
                   : (prerelease_.empty() ? std::strong_ordering::greater
                                          : std::strong_ordering::less);
    }
    size_t n = std::min(prerelease_.size(), other.prerelease_.size());
    for (size_t i = 0; i < n; ++i) {
        if (auto c = CompareIdentifier(prerelease_[i], other.prerelease_[i]); c != 0) return c;
    }
    return prerelease_.size() <=> other.prerelease_.size();
}

}  // namespace hvkit
