// The strict JSON parser: RFC 8259 only, duplicate keys and invalid UTF-8
// refused, depth and size bounded. Errors name the document, line and column;
// on request every value's position is recorded under its JSON pointer.
#include <cerrno>
#include <cstdlib>

#include "hvkit/json.h"

namespace hvkit {

namespace {

class Parser {
  public:
    Parser(std::string_view text, std::string_view what, JsonLimits limits,
           JsonLocations* locations)
        : text_(text), what_(what), limits_(limits), locations_(locations) {}

    Result<Json> ParseDocument() {
        if (text_.size() > limits_.max_bytes) {
            return Error(ErrorCode::kTooLarge,
                         std::string(what_) + ": JSON document of " + std::to_string(text_.size()) +
                             " bytes exceeds the limit of " + std::to_string(limits_.max_bytes));
        }
        Json value;
        HVKIT_RETURN_IF_ERROR(ParseValue(value, 0));
        SkipSpace();
        if (pos_ != text_.size()) return Fail("unexpected data after the JSON value");
        return value;
    }

  private:
    // Line breaks can only occur in whitespace (strings refuse control
    // characters), so SkipSpace alone keeps (line_, line_start_) current.
    JsonLocation Here() const { return {line_, pos_ - line_start_ + 1, pos_}; }

    Status Fail(const std::string& rule) const {
        JsonLocation at = Here();
        return Error(ErrorCode::kMalformed, std::string(what_) + ": invalid JSON at line " +
                                                std::to_string(at.line) + ", column " +
                                                std::to_string(at.column) + ": " + rule);
    }

    void SkipSpace() {
        while (pos_ < text_.size()) {
            char c = text_[pos_];
            if (c != ' ' && c != '\t' && c != '\n' && c != '\r') break;
            ++pos_;
            if (c == '\n') {
                ++line_;
                line_start_ = pos_;
            }
        }
    }

    // Parse the value of object member (key) or array element (index); the
    // JSON pointer is only built when locations are wanted.
    Status ParseMember(std::string_view key, Json& out, size_t depth) {
        if (locations_ == nullptr) return ParseValue(out, depth);
        return ParseUnder(JsonPointerToken(key), out, depth);
    }
    Status ParseElement(size_t index, Json& out, size_t depth) {
        if (locations_ == nullptr) return ParseValue(out, depth);
        return ParseUnder(std::to_string(index), out, depth);
    }

    // Parses a value with (token) appended to the pointer for the duration.
    Status ParseUnder(const std::string& token, Json& out, size_t depth) {
        size_t parent = pointer_.size();
        pointer_ += '/';
        pointer_ += token;
        Status status = ParseValue(out, depth);
        pointer_.resize(parent);
        return status;
    }

    bool Consume(std::string_view literal) {
        if (text_.substr(pos_, literal.size()) != literal) return false;
        pos_ += literal.size();
        return true;
    }

    Status ParseValue(Json& out, size_t depth) {
        if (depth > limits_.max_depth)
            return Fail("nesting deeper than " + std::to_string(limits_.max_depth));
        SkipSpace();
        if (pos_ >= text_.size()) return Fail("unexpected end of input");
        if (locations_ != nullptr) locations_->Set(pointer_, Here());
        char c = text_[pos_];
        if (c == '{') return ParseObject(out, depth);
        if (c == '[') return ParseArray(out, depth);
        if (c == '"') {
            std::string s;
            HVKIT_RETURN_IF_ERROR(ParseString(s));
            out = Json(std::move(s));
            return Status::Ok();
        }
        if (Consume("true")) {
            out = Json(true);
            return Status::Ok();
        }
        if (Consume("false")) {
            out = Json(false);
            return Status::Ok();
        }
        if (Consume("null")) {
            out = Json();
            return Status::Ok();
        }
        if (c == '-' || (c >= '0' && c <= '9')) return ParseNumber(out);
        return Fail(std::string("unexpected character '") + c + "'");
    }

    Status ParseObject(Json& out, size_t depth) {
        ++pos_;  // '{'
        Json::Object object;
        SkipSpace();
        if (pos_ < text_.size() && text_[pos_] == '}') {
            ++pos_;
            out = Json(std::move(object));
            return Status::Ok();
        }
        for (;;) {
            SkipSpace();
            if (pos_ >= text_.size() || text_[pos_] != '"') return Fail("expected a string key");
            std::string key;
            HVKIT_RETURN_IF_ERROR(ParseString(key));
            if (object.count(key)) return Fail("duplicate key \"" + key + "\"");
            SkipSpace();
            if (pos_ >= text_.size() || text_[pos_] != ':') return Fail("expected ':'");
            ++pos_;
            Json value;
            HVKIT_RETURN_IF_ERROR(ParseMember(key, value, depth + 1));
            object.emplace(std::move(key), std::move(value));
            SkipSpace();
            if (pos_ >= text_.size()) return Fail("unterminated object");
            if (text_[pos_] == ',') {
                ++pos_;
                continue;
            }
            if (text_[pos_] == '}') {
                ++pos_;
                break;
            }
            return Fail("expected ',' or '}'");
        }
        out = Json(std::move(object));
        return Status::Ok();
    }

    Status ParseArray(Json& out, size_t depth) {
        ++pos_;  // '['
        Json::Array array;
        SkipSpace();
        if (pos_ < text_.size() && text_[pos_] == ']') {
            ++pos_;
            out = Json(std::move(array));
            return Status::Ok();
        }
        for (;;) {
            Json value;
            HVKIT_RETURN_IF_ERROR(ParseElement(array.size(), value, depth + 1));
            array.push_back(std::move(value));
            SkipSpace();
            if (pos_ >= text_.size()) return Fail("unterminated array");
            if (text_[pos_] == ',') {
                ++pos_;
                continue;
            }
            if (text_[pos_] == ']') {
                ++pos_;
                break;
            }
            return Fail("expected ',' or ']'");
        }
        out = Json(std::move(array));
        return Status::Ok();
    }

    Status ParseHex4(uint32_t& out) {
        if (pos_ + 4 > text_.size()) return Fail("truncated \\u escape");
        out = 0;
        for (int i = 0; i < 4; ++i) {
            char c = text_[pos_++];
            out <<= 4;
            if (c >= '0' && c <= '9')
                out |= c - '0';
            else if (c >= 'a' && c <= 'f')
                out |= c - 'a' + 10;
            else if (c >= 'A' && c <= 'F')
                out |= c - 'A' + 10;
            else
                return Fail("bad hex digit in \\u escape");
        }
        return Status::Ok();
    }

    static void AppendUtf8(std::string& s, uint32_t cp) {
        if (cp < 0x80) {
            s += static_cast<char>(cp);
        } else if (cp < 0x800) {
            s += static_cast<char>(0xC0 | (cp >> 6));
            s += static_cast<char>(0x80 | (cp & 0x3F));
        } else if (cp < 0x10000) {
            s += static_cast<char>(0xE0 | (cp >> 12));
            s += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
            s += static_cast<char>(0x80 | (cp & 0x3F));
        } else {
            s += static_cast<char>(0xF0 | (cp >> 18));
            s += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
            s += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
            s += static_cast<char>(0x80 | (cp & 0x3F));
        }
    }

    // Validates one raw UTF-8 sequence starting at pos_ and copies it.
    Status CopyUtf8(std::string& s) {
        auto lead = static_cast<unsigned char>(text_[pos_]);
        size_t len = lead < 0x80           ? 1
                     : (lead >> 5) == 0x6  ? 2
                     : (lead >> 4) == 0xE  ? 3
                     : (lead >> 3) == 0x1E ? 4
                                           : 0;
        if (len == 0 || pos_ + len > text_.size()) return Fail("invalid UTF-8 in string");
        uint32_t cp = len == 1   ? lead
                      : len == 2 ? (lead & 0x1F)
                      : len == 3 ? (lead & 0x0F)
                                 : (lead & 0x07);
        for (size_t i = 1; i < len; ++i) {
            auto cont = static_cast<unsigned char>(text_[pos_ + i]);
            if ((cont & 0xC0) != 0x80) return Fail("invalid UTF-8 in string");
            cp = (cp << 6) | (cont & 0x3F);
        }
        static constexpr uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
        if (cp < kMin[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
            return Fail("invalid UTF-8 in string");
        }
        s.append(text_.substr(pos_, len));
        pos_ += len;
        return Status::Ok();
    }

    Status ParseString(std::string& out) {
        ++pos_;  // opening quote
        for (;;) {
            if (pos_ >= text_.size()) return Fail("unterminated string");
            char c = text_[pos_];
            if (c == '"') {
                ++pos_;
                return Status::Ok();
            }
            if (static_cast<unsigned char>(c) < 0x20) return Fail("control character in string");
            if (c != '\\') {
                // A run of plain ASCII at once (hex and names are nothing else).
                size_t end = pos_;
                while (end < text_.size()) {
                    auto u = static_cast<unsigned char>(text_[end]);
                    if (u < 0x20 || u >= 0x80 || u == '"' || u == '\\') break;
                    ++end;
                }
                if (end > pos_) {
                    out.append(text_.substr(pos_, end - pos_));
                    pos_ = end;
                    continue;
                }
                HVKIT_RETURN_IF_ERROR(CopyUtf8(out));
                continue;
            }
            if (++pos_ >= text_.size()) return Fail("unterminated escape");
            char e = text_[pos_++];
            switch (e) {
                case '"':
                    out += '"';
                    break;
                case '\\':
                    out += '\\';
                    break;
                case '/':
                    out += '/';
                    break;
                case 'b':
                    out += '\b';
                    break;
                case 'f':
                    out += '\f';
                    break;
                case 'n':
                    out += '\n';
                    break;
                case 'r':
                    out += '\r';
                    break;
                case 't':
                    out += '\t';
                    break;
                case 'u': {
                    uint32_t cp;
                    HVKIT_RETURN_IF_ERROR(ParseHex4(cp));
                    if (cp >= 0xD800 && cp <= 0xDBFF) {
                        if (!Consume("\\u")) return Fail("unpaired surrogate in \\u escape");
                        uint32_t low;
                        HVKIT_RETURN_IF_ERROR(ParseHex4(low));
                        if (low < 0xDC00 || low > 0xDFFF)
                            return Fail("unpaired surrogate in \\u escape");
                        cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
                    } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
                        return Fail("unpaired surrogate in \\u escape");
                    }
                    AppendUtf8(out, cp);
                    break;
                }
                default:
                    return Fail(std::string("unknown escape '\\") + e + "'");
            }
        }
    }

    Status ParseNumber(Json& out) {
        size_t start = pos_;
        if (text_[pos_] == '-') ++pos_;
        if (pos_ >= text_.size()) return Fail("truncated number");
        if (text_[pos_] == '0') {
            ++pos_;
        } else if (text_[pos_] >= '1' && text_[pos_] <= '9') {
            while (pos_ < text_.size() && isdigit(static_cast<unsigned char>(text_[pos_]))) ++pos_;
        } else {
            return Fail("malformed number");
        }
        bool integral = true;
        if (pos_ < text_.size() && text_[pos_] == '.') {
            integral = false;
            ++pos_;
            size_t digits = pos_;
            while (pos_ < text_.size() && isdigit(static_cast<unsigned char>(text_[pos_]))) ++pos_;
            if (pos_ == digits) return Fail("malformed number");
        }
        if (pos_ < text_.size() && (text_[pos_] == 'e' || text_[pos_] == 'E')) {
            integral = false;
            ++pos_;
            if (pos_ < text_.size() && (text_[pos_] == '+' || text_[pos_] == '-')) ++pos_;
            size_t digits = pos_;
            while (pos_ < text_.size() && isdigit(static_cast<unsigned char>(text_[pos_]))) ++pos_;
            if (pos_ == digits) return Fail("malformed number");
        }
        std::string literal(text_.substr(start, pos_ - start));
        if (integral) {
            errno = 0;
            char* end = nullptr;
            long long v = strtoll(literal.c_str(), &end, 10);
            if (errno == ERANGE) return Fail("integer out of range");
            out = Json(static_cast<int64_t>(v));
        } else {
            out = Json(strtod(literal.c_str(), nullptr));
        }
        return Status::Ok();
    }

    std::string_view text_;
    std::string_view what_;
    JsonLimits limits_;
    JsonLocations* locations_;
    std::string pointer_;  // JSON pointer of the value being parsed
    size_t pos_ = 0;
    size_t line_ = 1;
    size_t line_start_ = 0;  // offset of the current line's first byte
};

}  // namespace

Result<Json> ParseJson(std::string_view text, std::string_view what, JsonLimits limits,
                       JsonLocations* locations) {
    return Parser(text, what, limits, locations).ParseDocument();
}

}  // namespace hvkit
