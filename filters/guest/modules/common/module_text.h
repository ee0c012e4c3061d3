// Text crossing the module ABI: error strings out, params JSON in.
#pragma once

#include <cstddef>
#include <initializer_list>
#include <string>
#include <string_view>

#include "hvkit/json.h"
#include "hvkit/status.h"

namespace hvkit::filters {

// Copies (text) into the caller's (buffer) of (capacity) bytes, truncated and
// always NUL-terminated; does nothing when the buffer is NULL or empty.
void WriteModuleText(char* buffer, size_t capacity, std::string_view text);

// Parses (params_json), NULL meaning "{}", and requires a JSON object.
Result<Json> ParseModuleParams(const char* params_json);

// Refuses members of (params) not in (known), so a misspelt key is an error
// rather than a silently ignored setting.
Status CheckKnownParams(const Json& params, std::initializer_list<std::string_view> known);

}  // namespace hvkit::filters
