#include "hvkit/package/path_rules.h"

#include <cstdio>
#include <vector>

namespace hvkit {

std::optional<std::string> PathRuleViolation(std::string_view path) {
    if (path.empty()) return "path is empty";
    if (path.size() > kMaxPathBytes) {
        return "path is longer than " + std::to_string(kMaxPathBytes) + " bytes";
    }
    if (path[0] == '/') return "absolute path";
    for (char c : path) {
        auto u = static_cast<unsigned char>(c);
        if (u < 0x20 || u >= 0x7f) return "path must be printable ASCII";
    }
    size_t start = 0;
    for (;;) {
        size_t slash = path.find('/', start);
        std::string_view part =
            path.substr(start, slash == std::string_view::npos ? slash : slash - start);
        if (part == "..") return "path leaves the destination";
        if (part.empty() || part == ".") {
            return "path is not in normal form (empty or '.' component)";
        }
        if (part.size() > kMaxPathComponentBytes) {
            return "path component longer than " + std::to_string(kMaxPathComponentBytes) +
                   " bytes";
        }
        if (slash == std::string_view::npos) break;
        start = slash + 1;
    }
    return std::nullopt;
}

bool SymlinkTargetLeaves(std::string_view link_path, std::string_view target) {
    if (target.empty() || target[0] == '/') return true;
    // Depth of the directory holding the link, then walk the target.
    std::vector<std::string_view> stack;
    auto walk = [&stack](std::string_view p, bool drop_last) {
        size_t start = 0;
        for (;;) {
            size_t slash = p.find('/', start);
            bool last = slash == std::string_view::npos;
            std::string_view part = p.substr(start, last ? slash : slash - start);
            if (last && drop_last) return true;
            if (part == "..") {
                if (stack.empty()) return false;
                stack.pop_back();
            } else if (!part.empty() && part != ".") {
                stack.push_back(part);
            }
            if (last) return true;
            start = slash + 1;
        }
    };
    if (!walk(link_path, true)) return true;
    return !walk(target, false);
}

std::string Quote(std::string_view text) {
    std::string out = "'";
    for (char c : text) {
        auto u = static_cast<unsigned char>(c);
        if (u < 0x20 || u >= 0x7f || c == '\'' || c == '\\') {
            char buf[5];
            snprintf(buf, sizeof buf, "\\x%02x", u);
            out += buf;
        } else {
            out += c;
        }
    }
    return out + "'";
}

}  // namespace hvkit
