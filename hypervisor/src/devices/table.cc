// The device table: every device a machine gets, in setup order. Each row is
// defined beside its device (Solo5's hvt_module_ops) and says everything
// about it: its `hvmm run` options, usage and parsing into its own config
// (devices/configs.h), its setup, and the names it saves state under.
// Adding a device means adding its files, its config and one row here;
// main.cc, the builder and the docs' option parsing do not change.
#include "hvmm.h"

namespace hvkit::hvmm {

extern const DeviceModule kSerialModule;     // devices/serial.cc: COM1
extern const DeviceModule kI8042Module;      // devices/i8042.cc: the reset line
extern const DeviceModule kPciModule;        // pci/module.cc: root complex, host bridge
extern const DeviceModule kHvchanModule;     // hvchan/module.cc: 00:02.0 with --hvchan
extern const DeviceModule kVirtioBlkModule;  // virtio/blk.cc: 00:03.0 with --disk
extern const DeviceModule kVirtioNetModule;  // virtio/net.cc: 00:04.0 with --net
extern const DeviceModule kHvfiltModule;     // hvfilt/module.cc: 00:05.0 with --filter-rings

namespace {

// The PCI rows follow "pci": they attach to the root it sets up.
constexpr const DeviceModule* kDevices[] = {
    &kSerialModule,    &kI8042Module,     &kPciModule,    &kHvchanModule,
    &kVirtioBlkModule, &kVirtioNetModule, &kHvfiltModule,
};

}  // namespace

std::span<const DeviceModule* const> DeviceTable() {
    return kDevices;
}

}  // namespace hvkit::hvmm
