// REPO/hvrepo.json: the settings a repository keeps between hvrepo runs.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "hvkit/status.h"

namespace hvkit::repo {

inline constexpr const char* kSettingsFormat = "hvrepo-1";

struct RepositorySettings {
    std::map<std::string, int64_t> expires_days;  // every top-level role
    std::string keys_dir;                         // empty: REPO/keys
};

// The path of the settings file of the repository in (dir).
std::string SettingsPath(const std::string& dir);

// Reads and checks (dir)'s settings. kNotFound when (dir) holds no repository.
Result<RepositorySettings> LoadSettings(const std::string& dir);

// Atomically writes (settings) for the repository in (dir).
Status SaveSettings(const std::string& dir, const RepositorySettings& settings);

}  // namespace hvkit::repo
