// The guest agent's configuration: /etc/hvkit/agent.json, checked strictly;
// every error names the file and the key.
//
//   {
//     "repository": {"metadata_url": "http://10.0.2.1:8080/metadata/",
//                    "targets_url": "http://10.0.2.1:8080/targets/",
//                    "root": "/etc/hvkit/root.json"},
//     "package_trust": "/etc/hvkit/package-trust.json",
//     "package_name": "hvkit",           // targets are "<name>-<version>.hvpkg"
//     "state_dir": "/var/lib/hvkit",     // journal, TUF metadata, downloads
//     "extensions_dir": "/opt/hvkit"     // installed guest extensions
//   }
#pragma once

#include <string>

#include "hvkit/status.h"

namespace hvkit::agent {

struct AgentConfig {
    std::string metadata_url;
    std::string targets_url;
    std::string root_path;
    std::string package_trust_path;
    std::string package_name = "hvkit";
    std::string state_dir = "/var/lib/hvkit";
    std::string extensions_dir = "/opt/hvkit";
};

inline constexpr const char* kDefaultConfigPath = "/etc/hvkit/agent.json";

// Reads and checks (path): unknown keys, missing required keys, wrong types,
// relative paths and URLs that are not http(s) with a trailing slash are
// refused, naming (path) and the key.
Result<AgentConfig> LoadAgentConfig(const std::string& path);

}  // namespace hvkit::agent
