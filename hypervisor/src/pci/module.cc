// The PCI root complex's row in the device table: the root (ports
// 0xcf8-0xcff, the MMIO window) and the host bridge at 00:00.0. It has no
// options; the PCI rows after it attach their functions to ctx.pci.
#include "arch/x86_64/layout.h"
#include "pci/pci.h"

namespace hvkit::hvmm {

namespace {

constexpr const char* kPciState[] = {"pci", "pci-host-bridge"};

Status SetupPci(DeviceContext& ctx) {
    VmControl* control = &ctx.control;
    auto root = std::make_shared<PciRoot>(ctx.map_device_memory, [control] {
        control->RequestStop(StopReason::kGuestReset, "guest reset through port 0xcf9");
    });
    HVKIT_RETURN_IF_ERROR(
        ctx.pio.Insert(layout::kPortPciConfig, layout::kPortPciConfigSize, root->ports()));
    HVKIT_RETURN_IF_ERROR(
        ctx.mmio.Insert(layout::kPciMmio32Start, layout::kPciMmio32Size, root->window()));
    auto bridge = MakeHostBridge();
    HVKIT_RETURN_IF_ERROR(root->Attach(layout::kPciSlotHostBridge, bridge));
    ctx.devices.push_back(root);
    ctx.devices.push_back(std::move(bridge));
    ctx.pci = std::move(root);
    return Status::Ok();
}

}  // namespace

extern const DeviceModule kPciModule = {
    .name = "pci",
    .options = {},
    .synopsis = "",
    .help = "",
    .parse = nullptr,
    .setup = SetupPci,
    .saved_state = kPciState,
};

}  // namespace hvkit::hvmm
