// The device table: every device a machine gets, each a small setup function
// that creates it and places it on the buses. Adding a device means adding
// its files and one row here; the builder does not change.
#include "arch/x86_64/layout.h"
#include "hvchan/hvchan.h"
#include "hvfilt/hvfilt.h"
#include "hvmm.h"
#include "pci/pci.h"
#include "virtio/virtio.h"

namespace hvkit::hvmm {

namespace {

Status SetupSerial(DeviceContext& ctx) {
    auto uart = std::make_shared<Serial8250>(ctx.irq_line(layout::kIrqCom1), ctx.serial_sink);
    HVKIT_RETURN_IF_ERROR(ctx.pio.Insert(layout::kPortCom1, layout::kPortUartSize, uart));
    ctx.devices.push_back(std::move(uart));
    return Status::Ok();
}

Status SetupI8042(DeviceContext& ctx) {
    VmControl* control = &ctx.control;
    auto i8042 = std::make_shared<I8042>(ctx.irq_line(layout::kIrqI8042Keyboard), [control] {
        control->RequestStop(StopReason::kGuestReset, "guest reset through the i8042");
    });
    uint64_t size = layout::kPortI8042Command - layout::kPortI8042Data + 1;
    HVKIT_RETURN_IF_ERROR(ctx.pio.Insert(layout::kPortI8042Data, size, i8042));
    ctx.devices.push_back(std::move(i8042));
    return Status::Ok();
}

// The PCI root complex (ports 0xcf8-0xcff, the MMIO window) and the host
// bridge at 00:00.0. PCI devices after this row attach to ctx.pci.
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

// The hypercall channel at 00:02.0, when the machine has one.
Status SetupHvchan(DeviceContext& ctx) {
    if (!ctx.config.hvchan) return Status::Ok();
    HvchanHostInfo host;
    host.hv_version = HvmmVersionNumber();
    host.hv_version_string = HvmmVersion();
    std::shared_ptr<UpdateService> update;
    if (ctx.config.allow_hypervisor_update) {
        ReleaseStoreOptions options;
        HVKIT_ASSIGN_OR_RETURN(options.running_version,
                               SemVer::Parse(HvmmVersion(), "hvmm's version"));
        HVKIT_ASSIGN_OR_RETURN(options.after_step, CrashHookFromEnvironment());
        HVKIT_ASSIGN_OR_RETURN(auto store, ReleaseStore::Open(ctx.config.state_dir, options));
        update = std::make_shared<UpdateService>(std::move(store));
    }
    HVKIT_ASSIGN_OR_RETURN(auto hvchan, HvchanDevice::Create(std::move(host), std::move(update)));
    HVKIT_RETURN_IF_ERROR(ctx.pci->Attach(layout::kPciSlotHvchan, hvchan));
    ctx.devices.push_back(std::move(hvchan));
    return Status::Ok();
}

// virtio-blk at 00:03.0 on --disk's raw image (none without --disk).
Status SetupVirtioBlk(DeviceContext& ctx) {
    if (ctx.config.disk_path.empty()) return Status::Ok();
    HVKIT_ASSIGN_OR_RETURN(DiskImage image,
                           OpenDiskImage(ctx.config.disk_path, ctx.config.disk_read_only));
    HVKIT_ASSIGN_OR_RETURN(uint32_t bar, ctx.pci->AllocateMmio(VirtioPciFunction::kBarSize));
    auto fn = std::make_shared<VirtioPciFunction>(MakeVirtioBlk(std::move(image)), ctx.memory,
                                                  ctx.signal_msi, bar);
    HVKIT_RETURN_IF_ERROR(ctx.pci->Attach(layout::kPciSlotVirtioBlk, fn));
    ctx.devices.push_back(std::move(fn));
    return Status::Ok();
}

// virtio-net at 00:04.0 on --net's TAP (none without --net).
Status SetupVirtioNet(DeviceContext& ctx) {
    if (ctx.config.tap_name.empty()) return Status::Ok();
    HVKIT_ASSIGN_OR_RETURN(TapDevice tap, OpenTap(ctx.config.tap_name));
    HVKIT_ASSIGN_OR_RETURN(uint32_t bar, ctx.pci->AllocateMmio(VirtioPciFunction::kBarSize));
    auto mac = MacForTap(ctx.config.tap_name);
    auto fn = std::make_shared<VirtioPciFunction>(MakeVirtioNet(std::move(tap), mac), ctx.memory,
                                                  ctx.signal_msi, bar);
    HVKIT_RETURN_IF_ERROR(ctx.pci->Attach(layout::kPciSlotVirtioNet, fn));
    ctx.devices.push_back(std::move(fn));
    return Status::Ok();
}

// The filter-ring device at 00:05.0 with --filter-rings (docs/filter-rings.md,
// "The device"). Its BARs are allocated once here; the guest may move them
// and the root and the device follow (decoding, the KVM slot, the doorbell).
Status SetupHvfilt(DeviceContext& ctx) {
    uint64_t size = ctx.config.filter_rings_bytes;
    if (size == 0) return Status::Ok();
    HVKIT_RETURN_IF_ERROR(CheckFilterRegionSize(size));
    HVKIT_ASSIGN_OR_RETURN(uint32_t region_bar, ctx.pci->AllocateMmio(static_cast<uint32_t>(size)));
    HVKIT_ASSIGN_OR_RETURN(uint32_t register_bar, ctx.pci->AllocateMmio(HVFILT_BAR2_SIZE));
    HVKIT_ASSIGN_OR_RETURN(auto fn,
                           HvfiltDevice::Create(size, region_bar, register_bar, ctx.eventfds));
    HVKIT_RETURN_IF_ERROR(ctx.pci->Attach(layout::kPciSlotHvfilt, fn));
    ctx.devices.push_back(std::move(fn));
    return Status::Ok();
}

constexpr DeviceModule kDevices[] = {
    {"serial", SetupSerial},         // COM1
    {"i8042", SetupI8042},           // keyboard controller: the reset line
    {"pci", SetupPci},               // root complex and host bridge; PCI rows follow
    {"hvchan", SetupHvchan},         // 00:02.0 with --hvchan
    {"virtio-blk", SetupVirtioBlk},  // 00:03.0 with --disk
    {"virtio-net", SetupVirtioNet},  // 00:04.0 with --net
    {"hvfilt", SetupHvfilt},         // 00:05.0 with --filter-rings
};

}  // namespace

std::span<const DeviceModule> DeviceTable() {
    return kDevices;
}

}  // namespace hvkit::hvmm
