// Semantic versions (semver.org 2.0.0), parsed strictly: package versions are
// compared for anti-rollback, so "1.2", "v1.2.3" or "01.2.3" are errors, never
// guesses.
#pragma once

#include <compare>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "hvkit/status.h"

namespace hvkit {

class SemVer {
  public:
    SemVer() = default;
    SemVer(uint64_t major, uint64_t minor, uint64_t patch)
        : major_(major), minor_(minor), patch_(patch) {}

    // Parses MAJOR.MINOR.PATCH[-PRERELEASE][+BUILD] exactly as semver 2.0.0
    // defines it (no leading zeros, no empty identifiers, no "v" prefix).
    // (what) names the field in errors ("version of demo.json").
    static Result<SemVer> Parse(std::string_view text, std::string_view what);

    uint64_t major() const { return major_; }
    uint64_t minor() const { return minor_; }
    uint64_t patch() const { return patch_; }
    const std::vector<std::string>& prerelease() const { return prerelease_; }
    const std::string& build() const { return build_; }

    // The canonical text; Parse(ToString()) gives back an equal version.
    std::string ToString() const;

    // Precedence as semver 2.0.0 section 11 defines it: build metadata is
    // ignored, a pre-release sorts before its release, numeric identifiers
    // compare as numbers and before alphanumeric ones.
    std::strong_ordering operator<=>(const SemVer& other) const;
    // Equal precedence (build metadata ignored), consistent with <=>.
    bool operator==(const SemVer& other) const { return (*this <=> other) == 0; }

  private:
    uint64_t major_ = 0;
    uint64_t minor_ = 0;
    uint64_t patch_ = 0;
    std::vector<std::string> prerelease_;
    std::string build_;
};

}  // namespace hvkit
