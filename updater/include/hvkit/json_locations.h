// Where each value of a parsed JSON document sits in its text, so a schema
// check can say "hvfilterd.json:12: sources[0].deadline_ms: ..." instead of
// naming a key the reader then has to hunt for.
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <string_view>

namespace hvkit {

// A position in a JSON text: 1-based line and column (the column counts
// bytes, so a line with multi-byte UTF-8 before the value reads further
// right than an editor shows) and the 0-based byte offset.
struct JsonLocation {
    size_t line = 0;
    size_t column = 0;
    size_t offset = 0;
};

// Every value's location keyed by its JSON pointer (RFC 6901): "" is the
// whole document, "/sources/0/chain" a member of an element of a member.
class JsonLocations {
  public:
    // Records (where) for the value at (pointer); a second call replaces it.
    void Set(std::string pointer, JsonLocation where);

    // The location of the value at (pointer), or nullptr when none was recorded.
    const JsonLocation* Find(std::string_view pointer) const;

    // The location of (pointer), or of its nearest recorded ancestor when the
    // pointer names no value (a required key that is missing is reported at
    // the object that lacks it). An empty location when nothing matches.
    JsonLocation Nearest(std::string_view pointer) const;

    size_t size() const { return by_pointer_.size(); }

  private:
    std::map<std::string, JsonLocation, std::less<>> by_pointer_;
};

// One reference token of a JSON pointer for object key (key): '~' becomes
// "~0" and '/' becomes "~1" (RFC 6901 section 3).
std::string JsonPointerToken(std::string_view key);

}  // namespace hvkit
