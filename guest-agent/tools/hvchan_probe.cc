// hvchan-probe: finds the hypercall channel from guest userspace and prints
// what the hypervisor says about itself (the info call).
//
//   hvchan-probe [--json] [--sysfs DIR]
//
// Exit status: 0 found and answered; 1 found but failing; 2 usage;
// 3 no hvchan device (the VM has none).
#include <cstdio>

#include "hvkit/cli_args.h"
#include "hvkit/hvchan_guest.h"
#include "hvkit/json.h"

namespace {

using namespace hvkit;

constexpr int kExitNoDevice = 3;

std::string Version(uint32_t v) {
    return std::to_string(v >> 16) + "." + std::to_string((v >> 8) & 0xff) + "." +
           std::to_string(v & 0xff);
}

}  // namespace

int main(int argc, char** argv) {
    auto args =
        cli::ParseArgs(std::vector<std::string>(argv + 1, argv + argc),
                       {.value_options = {"--sysfs"}, .flags = {"--json"}, .positional = 0});
    if (!args.ok()) {
        fprintf(stderr, "hvchan-probe: %s\nusage: hvchan-probe [--json] [--sysfs DIR]\n",
                args.status().message().c_str());
        return 2;
    }
    auto sysfs = args->One("--sysfs");
    std::string root = sysfs.ok() && *sysfs ? **sysfs : "/sys/bus/pci/devices";
    auto dir = hvchan::FindHvchanDevice(root);
    if (!dir.ok()) {
        fprintf(stderr, "hvchan-probe: %s\n", dir.status().message().c_str());
        return kExitNoDevice;
    }
    auto ch = hvchan::Channel::Open(*dir);
    if (!ch.ok()) {
        fprintf(stderr, "hvchan-probe: %s\n", ch.status().message().c_str());
        return 1;
    }
    auto info = (*ch)->Info();
    if (!info.ok()) {
        fprintf(stderr, "hvchan-probe: %s\n", info.status().message().c_str());
        return 1;
    }
    std::string abi =
        std::to_string(info->abi_version >> 16) + "." + std::to_string(info->abi_version & 0xffff);
    if (args->Has("--json")) {
        Json out = Json::MakeObject();
        out["device"] = Json(dir->address);
        out["abi"] = Json(abi);
        out["hypervisor_version"] = Json(std::string(info->hv_version_string));
        out["hypervisor_version_number"] = Json(Version(info->hv_version));
        out["committed_version"] = Json(std::string(info->committed_version_string));
        out["host_features"] = Json(static_cast<int64_t>(info->host_features));
        out["update_permitted"] = Json(info->update_permitted != 0);
        printf("%s\n", DumpJson(out).c_str());
        return 0;
    }
    printf("hvchan-probe: device %s, ABI %s\n", dir->address.c_str(), abi.c_str());
    printf("hvchan-probe: hypervisor %s (%s), committed %s\n", info->hv_version_string,
           Version(info->hv_version).c_str(),
           info->committed_version_string[0] ? info->committed_version_string : "-");
    printf("hvchan-probe: host features 0x%llx, update permitted: %s\n",
           static_cast<unsigned long long>(info->host_features),
           info->update_permitted ? "yes" : "no");
    return 0;
}
