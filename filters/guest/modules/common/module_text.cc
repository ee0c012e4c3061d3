#include "module_text.h"

#include <algorithm>
#include <cstring>

namespace hvkit::filters {

void WriteModuleText(char* buffer, size_t capacity, std::string_view text) {
    if (buffer == nullptr || capacity == 0) return;
    size_t n = std::min(text.size(), capacity - 1);
    std::memcpy(buffer, text.data(), n);
    buffer[n] = '\0';
}

Result<Json> ParseModuleParams(const char* params_json) {
    std::string_view text = params_json != nullptr ? params_json : "{}";
    HVKIT_ASSIGN_OR_RETURN(Json params, ParseJson(text, "module params"));
    if (!params.is_object()) {
        return Error(ErrorCode::kInvalidArgument, std::string("module params must be a JSON "
                                                              "object, not ") +
                                                      JsonTypeName(params.type()));
    }
    return params;
}

Status CheckKnownParams(const Json& params, std::initializer_list<std::string_view> known) {
    for (const auto& [key, value] : params.as_object()) {
        if (std::find(known.begin(), known.end(), key) == known.end()) {
            std::string list;
            for (std::string_view k : known) list += (list.empty() ? "" : ", ") + std::string(k);
            return Error(ErrorCode::kInvalidArgument,
                         "unknown parameter '" + key + "' (this module takes: " + list + ")");
        }
    }
    return Status::Ok();
}

}  // namespace hvkit::filters
