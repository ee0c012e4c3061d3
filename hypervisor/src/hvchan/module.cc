// hvchan's row in the device table: --hvchan puts the hypercall channel at
// 00:02.0; --allow-hypervisor-update opens the host's release store
// (--state-dir) and lets the update calls through.
#include "arch/x86_64/layout.h"
#include "hvchan/hvchan.h"

namespace hvkit::hvmm {

namespace {

constexpr DeviceOption kHvchanOptions[] = {{"--hvchan", false},
                                           {"--allow-hypervisor-update", false},
                                           {"--state-dir", true},
                                           {"--no-takeover-on-commit", false}};
constexpr const char* kHvchanState[] = {"hvchan"};

Status ParseHvchanOptions(const cli::Args& args, DeviceConfigs& config) {
    config.hvchan.enabled = args.Has("--hvchan");
    config.hvchan.allow_hypervisor_update = args.Has("--allow-hypervisor-update");
    if (config.hvchan.allow_hypervisor_update && !config.hvchan.enabled) {
        return Error(ErrorCode::kInvalidArgument,
                     "--allow-hypervisor-update needs --hvchan (updates arrive through it)");
    }
    config.hvchan.takeover_on_commit = !args.Has("--no-takeover-on-commit");
    if (!config.hvchan.takeover_on_commit && !config.hvchan.allow_hypervisor_update) {
        return Error(ErrorCode::kInvalidArgument,
                     "--no-takeover-on-commit needs --allow-hypervisor-update (it says what a "
                     "commit does)");
    }
    HVKIT_ASSIGN_OR_RETURN(auto state_dir, args.One("--state-dir"));
    if (state_dir) config.hvchan.state_dir = *state_dir;
    return Status::Ok();
}

// The hypercall channel at 00:02.0, when the machine has one.
Status SetupHvchan(DeviceContext& ctx) {
    const HvchanConfig& config = ctx.config.devices.hvchan;
    if (!config.enabled) return Status::Ok();
    HvchanHostInfo host;
    host.hv_version = HvmmVersionNumber();
    host.hv_version_string = HvmmVersion();
    std::shared_ptr<UpdateService> update;
    if (config.allow_hypervisor_update) {
        ReleaseStoreOptions options;
        HVKIT_ASSIGN_OR_RETURN(options.running_version,
                               SemVer::Parse(HvmmVersion(), "hvmm's version"));
        HVKIT_ASSIGN_OR_RETURN(options.after_step, CrashHookFromEnvironment());
        HVKIT_ASSIGN_OR_RETURN(auto store, ReleaseStore::Open(config.state_dir, options));
        update = std::make_shared<UpdateService>(std::move(store));
    }
    std::shared_ptr<HvchanDevice> hvchan;
    if (ctx.adopted != nullptr) {
        HVKIT_ASSIGN_OR_RETURN(UniqueFd fd, ctx.adopted->Take("hvchan.memory"));
        HVKIT_ASSIGN_OR_RETURN(auto memory, HvchanMemory::Adopt(std::move(fd)));
        hvchan = HvchanDevice::Create(std::move(host), std::move(memory), std::move(update));
    } else {
        HVKIT_ASSIGN_OR_RETURN(hvchan, HvchanDevice::Create(std::move(host), std::move(update)));
    }
    HVKIT_RETURN_IF_ERROR(ctx.pci->Attach(layout::kPciSlotHvchan, hvchan));
    ctx.devices.push_back(std::move(hvchan));
    return Status::Ok();
}

}  // namespace

extern const DeviceModule kHvchanModule = {
    .name = "hvchan",
    .options = kHvchanOptions,
    .synopsis =
        "[--hvchan [--allow-hypervisor-update [--state-dir DIR]\n[--no-takeover-on-commit]]]",
    .help =
        "--hvchan gives the guest the hypercall channel (PCI 00:02.0,\n"
        "docs/hvchan-abi.md); --allow-hypervisor-update lets this VM update\n"
        "the hypervisor through it, into the release store at --state-dir DIR\n"
        "(default /var/lib/hvkit/hvmm; docs/hypervisor-update.md). A committed\n"
        "release's hvmm takes the running guest over at once, on trial\n"
        "(docs/live-takeover.md); --no-takeover-on-commit leaves it for the next\n"
        "start and makes the commit final at once.",
    .parse = ParseHvchanOptions,
    .setup = SetupHvchan,
    .saved_state = kHvchanState,
};

}  // namespace hvkit::hvmm
