#include "hvkit/json.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace hvkit {

const Json* Json::Find(std::string_view key) const {
    if (type_ != Type::kObject) return nullptr;
    auto it = object_.find(key);
    return it == object_.end() ? nullptr : &it->second;
}

Json& Json::operator[](std::string_view key) {
    if (type_ == Type::kNull) type_ = Type::kObject;
    auto it = object_.find(key);
    if (it == object_.end()) it = object_.emplace(std::string(key), Json()).first;
    return it->second;
}

void Json::Push(Json value) {
    if (type_ == Type::kNull) type_ = Type::kArray;
    array_.push_back(std::move(value));
}

bool Json::operator==(const Json& other) const {
    if (type_ != other.type_) return false;
    switch (type_) {
        case Type::kNull:
            return true;
        case Type::kBool:
            return bool_ == other.bool_;
        case Type::kInt:
            return int_ == other.int_;
        case Type::kDouble:
            return double_ == other.double_;
        case Type::kString:
            return string_ == other.string_;
        case Type::kArray:
            return array_ == other.array_;
        case Type::kObject:
            return object_ == other.object_;
    }
    return false;
}

const char* JsonTypeName(Json::Type type) {
    switch (type) {
        case Json::Type::kNull:
            return "null";
        case Json::Type::kBool:
            return "boolean";
        case Json::Type::kInt:
            return "integer";
        case Json::Type::kDouble:
            return "number";
        case Json::Type::kString:
            return "string";
        case Json::Type::kArray:
            return "array";
        case Json::Type::kObject:
            return "object";
    }
    return "?";
}

namespace {

class Parser {
  public:
    Parser(std::string_view text, std::string_view what, JsonLimits limits)
        : text_(text), what_(what), limits_(limits) {}

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
    Status Fail(const std::string& rule) const {
        return Error(ErrorCode::kMalformed, std::string(what_) + ": invalid JSON at byte " +
                                                std::to_string(pos_) + ": " + rule);
    }

    void SkipSpace() {
        while (pos_ < text_.size()) {
            char c = text_[pos_];
            if (c != ' ' && c != '\t' && c != '\n' && c != '\r') break;
            ++pos_;
        }
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
            HVKIT_RETURN_IF_ERROR(ParseValue(value, depth + 1));
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
            HVKIT_RETURN_IF_ERROR(ParseValue(value, depth + 1));
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
    size_t pos_ = 0;
};

void AppendEscaped(std::string& out, const std::string& s) {
    out += '"';
    for (char c : s) {
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

Result<Json> ParseJson(std::string_view text, std::string_view what, JsonLimits limits) {
    return Parser(text, what, limits).ParseDocument();
}

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

Result<const Json*> JsonMember(const Json& object, std::string_view key, Json::Type type,
                               std::string_view context) {
    if (!object.is_object()) {
        return Error(ErrorCode::kMalformed, std::string(context) + ": expected an object");
    }
    const Json* member = object.Find(key);
    if (member == nullptr) {
        return Error(ErrorCode::kMalformed, std::string(context) + ": missing required field \"" +
                                                std::string(key) + "\"");
    }
    if (member->type() != type) {
        return Error(ErrorCode::kMalformed, std::string(context) + ": field \"" + std::string(key) +
                                                "\" must be a " + JsonTypeName(type) + ", not a " +
                                                JsonTypeName(member->type()));
    }
    return member;
}

Result<std::string> JsonString(const Json& object, std::string_view key, std::string_view context) {
    HVKIT_ASSIGN_OR_RETURN(const Json* member,
                           JsonMember(object, key, Json::Type::kString, context));
    return member->as_string();
}

Result<int64_t> JsonInt(const Json& object, std::string_view key, std::string_view context) {
    HVKIT_ASSIGN_OR_RETURN(const Json* member, JsonMember(object, key, Json::Type::kInt, context));
    return member->as_int();
}

}  // namespace hvkit
