#include "hvkit/json.h"

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
