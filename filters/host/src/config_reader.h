// Typed reads from the configuration document whose errors carry the file,
// the line, the key and the rule. Internal to the config loader.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "hvkit/json.h"
#include "hvkit/status.h"

namespace hvkit::filterd {

// Where a value sits in the document: its JSON pointer, to find its line,
// and its dotted path ("sources[0].chain[1].module"), to show people.
class ConfigPath {
  public:
    ConfigPath() = default;

    // The member (key) of the object at this path.
    ConfigPath Key(std::string_view key) const;
    // The element (index) of the array at this path.
    ConfigPath Index(size_t index) const;

    const std::string& pointer() const { return pointer_; }
    // "the document" for the root, so a message never starts with an empty key.
    std::string dotted() const { return dotted_.empty() ? "the document" : dotted_; }

  private:
    std::string pointer_;
    std::string dotted_;
};

struct IntRange {
    int64_t min;
    int64_t max;
};

class ConfigReader {
  public:
    // (file) names the document; (locations) are its values' positions.
    ConfigReader(std::string file, const JsonLocations& locations)
        : file_(std::move(file)), locations_(locations) {}

    // The error "file:line: path: rule" for the value at (at), or for its
    // nearest enclosing value when (at) names a missing key.
    Status Bad(const ConfigPath& at, std::string_view rule) const;

    // Refuses any member of (object) at (at) not in (known).
    Status KnownKeysOnly(const Json& object, const ConfigPath& at,
                         std::initializer_list<std::string_view> known) const;

    // Member (key) of (object) at (at), checked to be of (type); nullptr when
    // it is absent and not (required).
    Result<const Json*> Member(const Json& object, const ConfigPath& at, std::string_view key,
                               Json::Type type, bool required) const;

    // Required non-empty string member (key).
    Result<std::string> String(const Json& object, const ConfigPath& at,
                               std::string_view key) const;

    // Required string member (key) that is one of (choices).
    Result<std::string> Choice(const Json& object, const ConfigPath& at, std::string_view key,
                               std::initializer_list<std::string_view> choices) const;

    // Integer member (key) within (range); (fallback) when absent, required
    // when there is no fallback.
    Result<int64_t> Int(const Json& object, const ConfigPath& at, std::string_view key,
                        IntRange range, std::optional<int64_t> fallback = std::nullopt) const;

    // Non-empty array of non-empty strings at member (key); an empty vector
    // when it is absent and not (required).
    Result<std::vector<std::string>> Strings(const Json& object, const ConfigPath& at,
                                             std::string_view key, bool required) const;

  private:
    std::string file_;
    const JsonLocations& locations_;
};

// "a string", "an integer": the type as a message names it.
std::string JsonTypeWithArticle(Json::Type type);

}  // namespace hvkit::filterd
