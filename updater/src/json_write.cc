// JSON output: the canonical form signatures cover, and readable JSON for
// files people open.
#include <cmath>
#include <cstdio>

#include "hvkit/json.h"

namespace hvkit {

namespace {

bool NeedsEscape(char c) {
    return c == '"' || c == '\\' || static_cast<unsigned char>(c) < 0x20;
}

void AppendEscaped(std::string& out, const std::string& s) {
    out += '"';
    for (size_t i = 0; i < s.size();) {
        // A run that needs no escape at once (hex and names are nothing else).
        size_t end = i;
        while (end < s.size() && !NeedsEscape(s[end])) ++end;
        out.append(s, i, end - i);
        if (end == s.size()) break;
        i = end + 1;
        char c = s[end];
        auto u = static_cast<unsigned char>(c);
        switch (c) {
            case '"':
                out += "\\\"";
                break;
            case '\\':
                out += "\\\\";
                break;
            case '\n':
                out += "\\n";
                break;
            case '\r':
                out += "\\r";
                break;
            case '\t':
                out += "\\t";
                break;
            default:
                if (u < 0x20) {
                    char buf[8];
                    snprintf(buf, sizeof buf, "\\u%04x", u);
                    out += buf;
                } else {
                    out += c;
                }
        }
    }
    out += '"';
}

void AppendCanonicalString(std::string& out, const std::string& s) {
    out += '"';
    for (char c : s) {
        if (c == '"' || c == '\\') out += '\\';
        out += c;
    }
    out += '"';
}

Status AppendCanonical(std::string& out, const Json& v) {
    switch (v.type()) {
        case Json::Type::kNull:
            out += "null";
            break;
        case Json::Type::kBool:
            out += v.as_bool() ? "true" : "false";
            break;
        case Json::Type::kInt:
            out += std::to_string(v.as_int());
            break;
        case Json::Type::kDouble:
            return Error(ErrorCode::kInvalidArgument,
                         "canonical JSON cannot encode the non-integer number " +
                             std::to_string(v.as_double()));
        case Json::Type::kString:
            AppendCanonicalString(out, v.as_string());
            break;
        case Json::Type::kArray: {
            out += '[';
            bool first = true;
            for (const auto& item : v.as_array()) {
                if (!first) out += ',';
                first = false;
                HVKIT_RETURN_IF_ERROR(AppendCanonical(out, item));
            }
            out += ']';
            break;
        }
        case Json::Type::kObject: {
            out += '{';
            bool first = true;
            for (const auto& [key, item] : v.as_object()) {
                if (!first) out += ',';
                first = false;
                AppendCanonicalString(out, key);
                out += ':';
                HVKIT_RETURN_IF_ERROR(AppendCanonical(out, item));
            }
            out += '}';
            break;
        }
    }
    return Status::Ok();
}

void AppendPretty(std::string& out, const Json& v, int indent, int level) {
    auto newline = [&](int lvl) {
        if (indent <= 0) return;
        out += '\n';
        out.append(static_cast<size_t>(indent * lvl), ' ');
    };
    switch (v.type()) {
        case Json::Type::kNull:
            out += "null";
            break;
        case Json::Type::kBool:
            out += v.as_bool() ? "true" : "false";
            break;
        case Json::Type::kInt:
            out += std::to_string(v.as_int());
            break;
        case Json::Type::kDouble: {
            char buf[32];
            snprintf(buf, sizeof buf, "%.17g", v.as_double());
            out += std::isfinite(v.as_double()) ? buf : "null";
            break;
        }
        case Json::Type::kString:
            AppendEscaped(out, v.as_string());
            break;
        case Json::Type::kArray: {
            if (v.as_array().empty()) {
                out += "[]";
                break;
            }
            out += '[';
            bool first = true;
            for (const auto& item : v.as_array()) {
                if (!first) out += ',';
                first = false;
                newline(level + 1);
                AppendPretty(out, item, indent, level + 1);
            }
            newline(level);
            out += ']';
            break;
        }
        case Json::Type::kObject: {
            if (v.as_object().empty()) {
                out += "{}";
                break;
            }
            out += '{';
            bool first = true;
            for (const auto& [key, item] : v.as_object()) {
                if (!first) out += ',';
                first = false;
                newline(level + 1);
                AppendEscaped(out, key);
                out += indent > 0 ? ": " : ":";
                AppendPretty(out, item, indent, level + 1);
            }
            newline(level);
            out += '}';
            break;
        }
    }
}

}  // namespace

Result<std::string> CanonicalJson(const Json& value) {
    std::string out;
    HVKIT_RETURN_IF_ERROR(AppendCanonical(out, value));
    return out;
}

std::string DumpJson(const Json& value, int indent) {
    std::string out;
    AppendPretty(out, value, indent, 0);
    if (indent > 0) out += '\n';
    return out;
}

}  // namespace hvkit
