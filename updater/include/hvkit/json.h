// A small JSON value, a strict parser and the canonical encoder TUF signs over.
//
// Why our own: signatures are computed over canonical bytes, so hvkit must
// control exactly what is accepted (duplicate keys are refused, depth and size
// are bounded) and exactly which bytes are produced ("OLPC" canonical JSON as
// securesystemslib and tuf-js implement it: sorted keys, no whitespace, only
// '"' and '\' escaped, integers only).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "hvkit/json_locations.h"
#include "hvkit/status.h"

namespace hvkit {

class Json {
  public:
    enum class Type { kNull, kBool, kInt, kDouble, kString, kArray, kObject };
    using Array = std::vector<Json>;
    // Byte-wise key order is the order canonical JSON requires.
    using Object = std::map<std::string, Json, std::less<>>;

    Json() = default;
    Json(std::nullptr_t) {}
    Json(bool b) : type_(Type::kBool), bool_(b) {}
    Json(int v) : type_(Type::kInt), int_(v) {}
    Json(int64_t v) : type_(Type::kInt), int_(v) {}
    Json(uint64_t v) : type_(Type::kInt), int_(static_cast<int64_t>(v)) {}
    Json(uint32_t v) : type_(Type::kInt), int_(v) {}
    Json(double v) : type_(Type::kDouble), double_(v) {}
    Json(const char* s) : type_(Type::kString), string_(s) {}
    Json(std::string s) : type_(Type::kString), string_(std::move(s)) {}
    Json(std::string_view s) : type_(Type::kString), string_(s) {}
    Json(Array a) : type_(Type::kArray), array_(std::move(a)) {}
    Json(Object o) : type_(Type::kObject), object_(std::move(o)) {}

    static Json MakeObject() { return Json(Object{}); }
    static Json MakeArray() { return Json(Array{}); }

    Type type() const { return type_; }
    bool is_null() const { return type_ == Type::kNull; }
    bool is_bool() const { return type_ == Type::kBool; }
    bool is_int() const { return type_ == Type::kInt; }
    bool is_string() const { return type_ == Type::kString; }
    bool is_array() const { return type_ == Type::kArray; }
    bool is_object() const { return type_ == Type::kObject; }

    // Accessors assume the type was checked; they return an empty value otherwise.
    bool as_bool() const { return bool_; }
    int64_t as_int() const { return int_; }
    double as_double() const { return double_; }
    const std::string& as_string() const { return string_; }
    const Array& as_array() const { return array_; }
    Array& as_array() { return array_; }
    const Object& as_object() const { return object_; }
    Object& as_object() { return object_; }

    // Object member lookup; nullptr when absent or when this is not an object.
    const Json* Find(std::string_view key) const;
    // Object member insertion/update; turns a null value into an object.
    Json& operator[](std::string_view key);
    // Array append; turns a null value into an array.
    void Push(Json value);

    bool operator==(const Json& other) const;

  private:
    Type type_ = Type::kNull;
    bool bool_ = false;
    int64_t int_ = 0;
    double double_ = 0;
    std::string string_;
    Array array_;
    Object object_;
};

const char* JsonTypeName(Json::Type type);

struct JsonLimits {
    size_t max_depth = 64;
    size_t max_bytes = 16 * 1024 * 1024;
};

// Parses RFC 8259 JSON strictly: no trailing commas, comments or NaN; duplicate
// object keys and invalid UTF-8 are refused. (what) names the document in errors,
// which give the line and column of the fault. When (locations) is given it
// receives every value's position, keyed by JSON pointer, for schema errors
// (on failure it may hold the part parsed so far).
Result<Json> ParseJson(std::string_view text, std::string_view what, JsonLimits limits = {},
                       JsonLocations* locations = nullptr);

// The canonical form signatures cover. Fails on non-integer numbers, which
// canonical JSON cannot represent.
Result<std::string> CanonicalJson(const Json& value);

// Human-readable JSON (standard escaping), for files people read. (indent) 0
// gives compact output.
std::string DumpJson(const Json& value, int indent = 2);

// Field readers for schema checks: each names (context) and (key) in its error.
Result<std::string> JsonString(const Json& object, std::string_view key, std::string_view context);
Result<int64_t> JsonInt(const Json& object, std::string_view key, std::string_view context);
Result<const Json*> JsonMember(const Json& object, std::string_view key, Json::Type type,
                               std::string_view context);

}  // namespace hvkit
