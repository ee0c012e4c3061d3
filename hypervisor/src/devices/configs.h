// Each device row's own configuration: what its parse reads from `hvmm run`'s
// options (the row, beside its device, says which options and how) and what
// its setup builds the device from. MachineConfig carries one DeviceConfigs;
// a new device adds its struct and one member here, next to its row in
// devices/table.cc. Plain data: this header includes nothing of hvmm's.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace hvkit::hvmm {

// The serial console, COM1 (devices/serial.cc): where its output goes and
// whether host stdin feeds its input.
struct SerialConfig {
    std::optional<std::string> log_path;  // --serial-log FILE (none: stdout)
    bool read_stdin = true;               // --serial-input stdin|none
};

// The hypercall channel at PCI 00:02.0 (hvchan/module.cc).
struct HvchanConfig {
    bool enabled = false;                  // --hvchan
    bool allow_hypervisor_update = false;  // --allow-hypervisor-update: update calls permitted
    // --state-dir: the host's release store (docs/hypervisor-update.md),
    // opened only with allow_hypervisor_update.
    std::string state_dir = "/var/lib/hvkit/hvmm";
    // A committed release's hvmm takes the running guest over at once, on
    // trial (docs/live-takeover.md); --no-takeover-on-commit: it runs from
    // the next start instead, and the commit is final at once.
    bool takeover_on_commit = true;
};

// virtio-blk at PCI 00:03.0 (virtio/blk.cc).
struct VirtioBlkConfig {
    std::string path;        // --disk FILE: a raw image ("" = no device)
    bool read_only = false;  // --disk FILE,ro
};

// virtio-net at PCI 00:04.0 (virtio/net.cc).
struct VirtioNetConfig {
    std::string tap_name;  // --net tap=NAME: an existing TAP ("" = no device)
};

// The filter-ring device hvfilt at PCI 00:05.0 (hvfilt/module.cc).
struct HvfiltConfig {
    // --filter-rings SIZE: 0 = no device, else a power of two in
    // [HVFILT_MIN_REGION_SIZE, HVFILT_MAX_REGION_SIZE].
    uint64_t region_bytes = 0;
};

struct DeviceConfigs {
    SerialConfig serial;
    HvchanConfig hvchan;
    VirtioBlkConfig disk;
    VirtioNetConfig net;
    HvfiltConfig hvfilt;
};

}  // namespace hvkit::hvmm
