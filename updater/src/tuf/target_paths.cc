// Target path rules: consistent-snapshot file names and the path patterns and
// hash prefixes that decide which delegated role is trusted for a target.
#include <vector>

#include "hvkit/crypto.h"
#include "hvkit/tuf/metadata.h"

namespace hvkit::tuf {

namespace {

bool MatchSegment(std::string_view pattern, std::string_view text) {
    // Iterative wildcard match ('*' any run, '?' one character) within a segment.
    size_t p = 0, t = 0, star = std::string_view::npos, mark = 0;
    while (t < text.size()) {
        if (p < pattern.size() && (pattern[p] == '?' || pattern[p] == text[t])) {
            ++p;
            ++t;
        } else if (p < pattern.size() && pattern[p] == '*') {
            star = p++;
            mark = t;
        } else if (star != std::string_view::npos) {
            p = star + 1;
            t = ++mark;
        } else {
            return false;
        }
    }
    while (p < pattern.size() && pattern[p] == '*') ++p;
    return p == pattern.size();
}

std::vector<std::string_view> Split(std::string_view s) {
    std::vector<std::string_view> parts;
    size_t start = 0;
    for (;;) {
        size_t slash = s.find('/', start);
        parts.push_back(s.substr(start, slash - start));
        if (slash == std::string_view::npos) break;
        start = slash + 1;
    }
    return parts;
}

}  // namespace

std::string ConsistentTargetPath(const std::string& target_path, const std::string& hash_hex) {
    auto slash = target_path.find_last_of('/');
    if (slash == std::string::npos) return hash_hex + "." + target_path;
    return target_path.substr(0, slash + 1) + hash_hex + "." + target_path.substr(slash + 1);
}

bool MatchTargetPattern(std::string_view pattern, std::string_view path) {
    auto pp = Split(pattern);
    auto tp = Split(path);
    if (pp.size() != tp.size()) return false;
    for (size_t i = 0; i < pp.size(); ++i) {
        if (!MatchSegment(pp[i], tp[i])) return false;
    }
    return true;
}

bool DelegatedRole::IsDelegatedPath(const std::string& target_path) const {
    for (const auto& pattern : paths) {
        if (MatchTargetPattern(pattern, target_path)) return true;
    }
    if (!path_hash_prefixes.empty()) {
        std::string digest = Sha256::HexOf(target_path);
        for (const auto& prefix : path_hash_prefixes) {
            if (digest.compare(0, prefix.size(), prefix) == 0) return true;
        }
    }
    return false;
}

}  // namespace hvkit::tuf
