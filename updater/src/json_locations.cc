// The pointer-to-position map the parser fills on request.
#include "hvkit/json_locations.h"

namespace hvkit {

void JsonLocations::Set(std::string pointer, JsonLocation where) {
    by_pointer_.insert_or_assign(std::move(pointer), where);
}

const JsonLocation* JsonLocations::Find(std::string_view pointer) const {
    auto it = by_pointer_.find(pointer);
    return it == by_pointer_.end() ? nullptr : &it->second;
}

JsonLocation JsonLocations::Nearest(std::string_view pointer) const {
    for (;;) {
        if (const JsonLocation* where = Find(pointer)) return *where;
        if (pointer.empty()) return {};
        size_t slash = pointer.rfind('/');
        pointer = pointer.substr(0, slash == std::string_view::npos ? 0 : slash);
    }
}

std::string JsonPointerToken(std::string_view key) {
    std::string token;
    token.reserve(key.size());
    for (char c : key) {
        if (c == '~')
            token += "~0";
        else if (c == '/')
            token += "~1";
        else
            token += c;
    }
    return token;
}

}  // namespace hvkit
