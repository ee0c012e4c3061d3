// Typed configuration reads with errors that point into the file.
#include "config_reader.h"

namespace hvkit::filterd {

namespace {

// Keys made of these characters read well after a dot; others are quoted.
bool PlainKey(std::string_view key) {
    if (key.empty()) return false;
    for (char c : key) {
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '_' || c == '-';
        if (!ok) return false;
    }
    return true;
}

std::string JoinQuoted(std::initializer_list<std::string_view> words) {
    std::string out;
    for (std::string_view w : words) out += (out.empty() ? "\"" : ", \"") + std::string(w) + "\"";
    return out;
}

}  // namespace

ConfigPath ConfigPath::Key(std::string_view key) const {
    ConfigPath child = *this;
    child.pointer_ += "/" + JsonPointerToken(key);
    if (PlainKey(key)) {
        child.dotted_ += (dotted_.empty() ? "" : ".") + std::string(key);
    } else {
        child.dotted_ += "[" + DumpJson(Json(key), 0) + "]";
    }
    return child;
}

ConfigPath ConfigPath::Index(size_t index) const {
    ConfigPath child = *this;
    child.pointer_ += "/" + std::to_string(index);
    child.dotted_ += "[" + std::to_string(index) + "]";
    return child;
}

std::string JsonTypeWithArticle(Json::Type type) {
    std::string name = JsonTypeName(type);
    bool vowel = name.find_first_of("aeiou") == 0;
    return (vowel ? "an " : "a ") + name;
}

Status ConfigReader::Bad(const ConfigPath& at, std::string_view rule) const {
    JsonLocation where = locations_.Nearest(at.pointer());
    return Error(ErrorCode::kInvalidArgument, file_ + ":" + std::to_string(where.line) + ": " +
                                                  at.dotted() + ": " + std::string(rule));
}

Status ConfigReader::KnownKeysOnly(const Json& object, const ConfigPath& at,
                                   std::initializer_list<std::string_view> known) const {
    for (const auto& [key, value] : object.as_object()) {
        bool found = false;
        for (std::string_view k : known) found = found || k == key;
        if (!found)
            return Bad(at.Key(key), "is not a known key (known: " + JoinQuoted(known) + ")");
    }
    return Status::Ok();
}

Result<const Json*> ConfigReader::Member(const Json& object, const ConfigPath& at,
                                         std::string_view key, Json::Type type,
                                         bool required) const {
    const Json* value = object.Find(key);
    if (value == nullptr) {
        if (!required) return value;
        return Bad(at.Key(key), "is required (" + JsonTypeWithArticle(type) + ")");
    }
    if (value->type() != type) {
        return Bad(at.Key(key), "must be " + JsonTypeWithArticle(type) + ", not " +
                                    JsonTypeWithArticle(value->type()));
    }
    return value;
}

Result<std::string> ConfigReader::String(const Json& object, const ConfigPath& at,
                                         std::string_view key) const {
    HVKIT_ASSIGN_OR_RETURN(const Json* value, Member(object, at, key, Json::Type::kString, true));
    if (value->as_string().empty()) return Bad(at.Key(key), "must not be empty");
    return value->as_string();
}

Result<std::string> ConfigReader::Choice(const Json& object, const ConfigPath& at,
                                         std::string_view key,
                                         std::initializer_list<std::string_view> choices) const {
    const Json* value = object.Find(key);
    if (value == nullptr)
        return Bad(at.Key(key), "is required (one of " + JoinQuoted(choices) + ")");
    if (value->is_string()) {
        for (std::string_view c : choices) {
            if (c == value->as_string()) return value->as_string();
        }
    }
    return Bad(at.Key(key), DumpJson(*value, 0) + " is not one of " + JoinQuoted(choices));
}

Result<int64_t> ConfigReader::Int(const Json& object, const ConfigPath& at, std::string_view key,
                                  IntRange range, std::optional<int64_t> fallback) const {
    HVKIT_ASSIGN_OR_RETURN(const Json* value,
                           Member(object, at, key, Json::Type::kInt, !fallback.has_value()));
    if (value == nullptr) return *fallback;
    int64_t v = value->as_int();
    if (v < range.min || v > range.max) {
        return Bad(at.Key(key), std::to_string(v) + " is out of range (" +
                                    std::to_string(range.min) + ".." + std::to_string(range.max) +
                                    ")");
    }
    return v;
}

Result<std::vector<std::string>> ConfigReader::Strings(const Json& object, const ConfigPath& at,
                                                       std::string_view key, bool required) const {
    HVKIT_ASSIGN_OR_RETURN(const Json* value,
                           Member(object, at, key, Json::Type::kArray, required));
    std::vector<std::string> out;
    if (value == nullptr) return out;
    if (value->as_array().empty()) return Bad(at.Key(key), "must not be empty");
    for (size_t i = 0; i < value->as_array().size(); ++i) {
        const Json& element = value->as_array()[i];
        ConfigPath element_at = at.Key(key).Index(i);
        if (!element.is_string()) {
            return Bad(element_at, "must be a string, not " + JsonTypeWithArticle(element.type()));
        }
        if (element.as_string().empty()) return Bad(element_at, "must not be empty");
        out.push_back(element.as_string());
    }
    return out;
}

}  // namespace hvkit::filterd
