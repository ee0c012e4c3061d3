// hvfilterd's configuration file (docs/filters.md, "Configuration"): the VM
// whose filter rings it attaches to, and the sources it intercepts with the
// guest module chain and the policies for each.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "hvkit/filterd/source_policy.h"
#include "hvkit/json.h"
#include "hvkit/status.h"

namespace hvkit::filterd {

enum class SourceKind { kNetwork, kFile };

// fanotify permission events: FAN_OPEN_PERM, FAN_OPEN_EXEC_PERM, FAN_ACCESS_PERM.
enum class FileEvent { kOpen, kExec, kAccess };

// Packets reach an NFQUEUE through rules hvfilterd installs in its own table.
struct NetworkSection {
    uint16_t queue = 0;
    std::vector<std::string> rules;  // nft match expressions, one rule each
    uint32_t batch = 32;             // queue messages handled per wake-up
    // A CHANGED verdict may alter the packet's payload only; with this set
    // it may also rewrite IP and TCP/UDP headers (addresses, ports, protocol:
    // the kernel then routes the packet anew).
    bool allow_header_changes = false;
};

// File accesses under (paths) raise fanotify permission events.
struct FileSection {
    std::vector<std::string> paths;  // absolute
    std::vector<FileEvent> events{FileEvent::kOpen};
    uint64_t max_content_bytes = 1 << 20;  // of a file's content the guest sees
};

// One guest filter module in a source's chain and its module-defined parameters.
struct ModuleStep {
    std::string module;
    Json params = Json::MakeObject();
};

struct SourceConfig {
    std::string name;
    SourceKind kind = SourceKind::kNetwork;
    std::optional<NetworkSection> network;  // present exactly when kind is network
    std::optional<FileSection> file;        // present exactly when kind is file
    std::vector<ModuleStep> chain;          // in order; never empty
    SourcePolicy policy;                    // policy.name == name
    uint32_t max_item_bytes = 65535;        // largest payload one item carries
};

struct FilterConfig {
    std::string control_socket;  // hvmm's control socket for the VM, absolute
    std::vector<SourceConfig> sources;
};

// Reads and checks the configuration at (path). Every error names the file,
// the line, the key and the rule: "hvfilterd.json:12: sources[0].deadline_ms:
// 0 is out of range (1..60000)".
Result<FilterConfig> LoadFilterConfig(const std::string& path);

// Checks configuration (text); (file) names it in errors.
Result<FilterConfig> ParseFilterConfig(std::string_view text, const std::string& file);

// The dispatcher's view of (config): one policy per source, in order.
std::vector<SourcePolicy> SourcePolicies(const FilterConfig& config);

}  // namespace hvkit::filterd
