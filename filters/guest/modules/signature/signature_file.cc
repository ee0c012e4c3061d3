#include "signature_file.h"

#include <fstream>
#include <map>
#include <optional>
#include <sstream>

namespace hvkit::filters {
namespace {

constexpr size_t kMaxFileBytes = 16 * 1024 * 1024;
constexpr size_t kMaxNameBytes = 128;

bool IsSpace(char c) {
    return c == ' ' || c == '\t';
}

bool IsNameChar(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-' || c == '.';
}

std::optional<int> HexValue(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return std::nullopt;
}

// Whether only blanks or a comment follow (rest).
bool OnlyCommentLeft(std::string_view rest) {
    for (char c : rest) {
        if (c == '#') return true;
        if (!IsSpace(c)) return false;
    }
    return true;
}

// Reads hex digit pairs, blanks allowed between bytes, until a comment.
Result<std::string> ParseHexBytes(std::string_view text) {
    std::string bytes;
    std::optional<int> high;
    for (size_t i = 0; i < text.size() && text[i] != '#'; ++i) {
        char c = text[i];
        if (IsSpace(c)) {
            if (high) return Error(ErrorCode::kMalformed, "a blank splits a hex byte");
            continue;
        }
        std::optional<int> digit = HexValue(c);
        if (!digit) {
            return Error(ErrorCode::kMalformed,
                         std::string("'") + c + "' is not a hex digit (a string needs quotes)");
        }
        if (high) {
            bytes.push_back(static_cast<char>(*high << 4 | *digit));
            high.reset();
        } else {
            high = digit;
        }
    }
    if (high) return Error(ErrorCode::kMalformed, "odd number of hex digits");
    return bytes;
}

// Reads a "quoted string" with \\ \" \n \r \t \0 and \xHH escapes.
Result<std::string> ParseQuotedBytes(std::string_view text) {
    std::string bytes;
    for (size_t i = 1; i < text.size(); ++i) {
        char c = text[i];
        if (c == '"') {
            if (!OnlyCommentLeft(text.substr(i + 1))) {
                return Error(ErrorCode::kMalformed, "text after the closing quote");
            }
            return bytes;
        }
        if (c != '\\') {
            bytes.push_back(c);
            continue;
        }
        if (++i == text.size()) break;
        switch (text[i]) {
            case '\\':
            case '"':
                bytes.push_back(text[i]);
                break;
            case 'n':
                bytes.push_back('\n');
                break;
            case 'r':
                bytes.push_back('\r');
                break;
            case 't':
                bytes.push_back('\t');
                break;
            case '0':
                bytes.push_back('\0');
                break;
            case 'x': {
                std::optional<int> high, low;
                if (i + 2 < text.size()) high = HexValue(text[i + 1]), low = HexValue(text[i + 2]);
                if (!high || !low) {
                    return Error(ErrorCode::kMalformed, "\\x needs two hex digits");
                }
                bytes.push_back(static_cast<char>(*high << 4 | *low));
                i += 2;
                break;
            }
            default:
                return Error(ErrorCode::kMalformed, std::string("unknown escape \\") + text[i] +
                                                        " (use \\\\ \\\" \\n \\r \\t \\0 \\xHH)");
        }
    }
    return Error(ErrorCode::kMalformed, "unterminated string (missing closing quote)");
}

// Parses one non-blank, non-comment (line) into (signature).
Status ParseLine(std::string_view line, Signature& signature) {
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) {
        return Error(ErrorCode::kMalformed, "expected 'name: pattern'");
    }
    std::string_view name = line.substr(0, colon);
    while (!name.empty() && IsSpace(name.back())) name.remove_suffix(1);
    if (name.empty()) return Error(ErrorCode::kMalformed, "the signature has no name");
    if (name.size() > kMaxNameBytes) {
        return Error(ErrorCode::kMalformed,
                     "the name is longer than " + std::to_string(kMaxNameBytes) + " bytes");
    }
    for (char c : name) {
        if (!IsNameChar(c)) {
            return Error(ErrorCode::kMalformed,
                         "name '" + std::string(name) + "' may hold only letters, digits, _ - .");
        }
    }
    std::string_view pattern = line.substr(colon + 1);
    while (!pattern.empty() && IsSpace(pattern.front())) pattern.remove_prefix(1);
    Result<std::string> bytes = !pattern.empty() && pattern.front() == '"'
                                    ? ParseQuotedBytes(pattern)
                                    : ParseHexBytes(pattern);
    if (!bytes.ok()) return bytes.status();
    if (bytes->empty()) {
        return Error(ErrorCode::kMalformed,
                     "signature '" + std::string(name) + "' has an empty pattern");
    }
    signature.name = name;
    signature.bytes = std::move(bytes).value();
    return Status::Ok();
}

}  // namespace

Result<std::vector<Signature>> ParseSignatures(std::string_view text, std::string_view file) {
    std::vector<Signature> signatures;
    std::map<std::string, size_t, std::less<>> first_line;
    size_t line_number = 0;
    while (!text.empty()) {
        ++line_number;
        size_t newline = text.find('\n');
        std::string_view line = text.substr(0, newline);
        text.remove_prefix(newline == std::string_view::npos ? text.size() : newline + 1);
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        while (!line.empty() && IsSpace(line.front())) line.remove_prefix(1);
        if (line.empty() || line.front() == '#') continue;

        std::string where = std::string(file) + ":" + std::to_string(line_number);
        Signature signature;
        signature.line = line_number;
        HVKIT_RETURN_IF_ERROR(ParseLine(line, signature).WithContext(where));
        auto [it, fresh] = first_line.emplace(signature.name, line_number);
        if (!fresh) {
            return Error(ErrorCode::kMalformed, where + ": signature '" + signature.name +
                                                    "' is already defined on line " +
                                                    std::to_string(it->second));
        }
        signatures.push_back(std::move(signature));
    }
    if (signatures.empty()) {
        return Error(ErrorCode::kMalformed, std::string(file) + ": no signatures defined");
    }
    return signatures;
}

Result<std::vector<Signature>> LoadSignatureFile(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return Error(ErrorCode::kNotFound, path + ": cannot open the signature file");
    std::ostringstream content;
    content << in.rdbuf();
    if (in.bad()) return Error(ErrorCode::kIo, path + ": cannot read the signature file");
    std::string text = std::move(content).str();
    if (text.size() > kMaxFileBytes) {
        return Error(ErrorCode::kTooLarge,
                     path + ": larger than " + std::to_string(kMaxFileBytes) + " bytes");
    }
    return ParseSignatures(text, path);
}

}  // namespace hvkit::filters
