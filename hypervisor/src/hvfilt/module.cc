// hvfilt's row in the device table: --filter-rings SIZE puts the filter-ring
// device at 00:05.0 (docs/filter-rings.md, "The device").
#include "arch/x86_64/layout.h"
#include "hvfilt/hvfilt.h"

namespace hvkit::hvmm {

namespace {

constexpr DeviceOption kHvfiltOptions[] = {{"--filter-rings", true}};
constexpr const char* kHvfiltState[] = {"hvfilt"};

Status ParseHvfiltOptions(const cli::Args& args, DeviceConfigs& config) {
    HVKIT_ASSIGN_OR_RETURN(auto value, args.One("--filter-rings"));
    if (!value) return Status::Ok();
    auto bytes = ParseMemorySize(*value);
    if (!bytes.ok()) return bytes.status().WithContext("--filter-rings");
    HVKIT_RETURN_IF_ERROR(CheckFilterRegionSize(*bytes));
    config.hvfilt.region_bytes = *bytes;
    return Status::Ok();
}

// Its BARs are allocated once here; the guest may move them and the root and
// the device follow (decoding, the KVM slot, the doorbell).
Status SetupHvfilt(DeviceContext& ctx) {
    uint64_t size = ctx.config.devices.hvfilt.region_bytes;
    if (size == 0) return Status::Ok();
    HVKIT_RETURN_IF_ERROR(CheckFilterRegionSize(size));
    HVKIT_ASSIGN_OR_RETURN(uint32_t region_bar, ctx.pci->AllocateMmio(static_cast<uint32_t>(size)));
    HVKIT_ASSIGN_OR_RETURN(uint32_t register_bar, ctx.pci->AllocateMmio(HVFILT_BAR2_SIZE));
    std::shared_ptr<HvfiltDevice> fn;
    if (ctx.adopted != nullptr) {
        HVKIT_ASSIGN_OR_RETURN(
            fn, HvfiltDevice::Adopt(*ctx.adopted, size, region_bar, register_bar, ctx.eventfds));
    } else {
        HVKIT_ASSIGN_OR_RETURN(fn,
                               HvfiltDevice::Create(size, region_bar, register_bar, ctx.eventfds));
    }
    HVKIT_RETURN_IF_ERROR(ctx.pci->Attach(layout::kPciSlotHvfilt, fn));
    ctx.devices.push_back(std::move(fn));
    return Status::Ok();
}

}  // namespace

extern const DeviceModule kHvfiltModule = {
    .name = "hvfilt",
    .options = kHvfiltOptions,
    .synopsis = "[--filter-rings SIZE]",
    .help =
        "--filter-rings SIZE gives the guest the filter-ring device (PCI\n"
        "00:05.0, docs/filter-rings.md) with a SIZE-byte shared region (a power\n"
        "of two from 64K to 128M, e.g. 2M); hvfilterd attaches to it through\n"
        "the control socket (filter-attach).",
    .parse = ParseHvfiltOptions,
    .setup = SetupHvfilt,
    .saved_state = kHvfiltState,
};

}  // namespace hvkit::hvmm
