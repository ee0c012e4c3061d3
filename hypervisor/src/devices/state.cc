// Checked reading of saved device state.
#include "hvmm.h"

namespace hvkit::hvmm {

namespace {

Status Bad(std::string_view device, std::string_view key, const std::string& why) {
    return Error(ErrorCode::kMalformed,
                 "saved " + std::string(device) + " state: \"" + std::string(key) + "\" " + why);
}

}  // namespace

Status CheckStateVersion(const Json& state, int64_t version, std::string_view device) {
    if (!state.is_object()) return Bad(device, "(root)", "is not an object");
    const Json* v = state.Find("version");
    if (v == nullptr || !v->is_int()) return Bad(device, "version", "is missing");
    if (v->as_int() != version) {
        return Bad(device, "version",
                   "is " + std::to_string(v->as_int()) + "; this hvmm reads version " +
                       std::to_string(version));
    }
    return Status::Ok();
}

Result<uint8_t> StateByte(const Json& state, std::string_view key, std::string_view device) {
    const Json* v = state.Find(key);
    if (v == nullptr || !v->is_int()) return Bad(device, key, "is missing or not an integer");
    if (v->as_int() < 0 || v->as_int() > 255) return Bad(device, key, "is not a byte");
    return static_cast<uint8_t>(v->as_int());
}

Result<bool> StateBool(const Json& state, std::string_view key, std::string_view device) {
    const Json* v = state.Find(key);
    if (v == nullptr || !v->is_bool()) return Bad(device, key, "is missing or not a boolean");
    return v->as_bool();
}

Result<std::vector<uint8_t>> StateBytes(const Json& state, std::string_view key, size_t max,
                                        std::string_view device) {
    const Json* v = state.Find(key);
    if (v == nullptr || !v->is_array()) return Bad(device, key, "is missing or not an array");
    if (v->as_array().size() > max) {
        return Bad(device, key, "holds more than " + std::to_string(max) + " bytes");
    }
    std::vector<uint8_t> out;
    for (const Json& b : v->as_array()) {
        if (!b.is_int() || b.as_int() < 0 || b.as_int() > 255) {
            return Bad(device, key, "holds a value that is not a byte");
        }
        out.push_back(static_cast<uint8_t>(b.as_int()));
    }
    return out;
}

Json BytesToJson(std::span<const uint8_t> bytes) {
    Json::Array a;
    for (uint8_t b : bytes) a.emplace_back(static_cast<int>(b));
    return Json(std::move(a));
}

}  // namespace hvkit::hvmm
