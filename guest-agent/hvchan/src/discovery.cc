// Finding hvchan in sysfs by its PCI vendor and device IDs.
#include <dirent.h>

#include <algorithm>
#include <cstdio>
#include <vector>

#include "hvkit/hvchan_guest.h"

namespace hvkit::hvchan {

namespace {

// The ID in a sysfs "vendor"/"device" file ("0x1af4\n"), or -1.
long ReadId(const std::string& path) {
    auto text = ReadFile(path, 64);
    if (!text.ok()) return -1;
    char* end = nullptr;
    long v = strtol(text->c_str(), &end, 16);
    return end == text->c_str() ? -1 : v;
}

}  // namespace

Result<PciDeviceDir> FindHvchanDevice(const std::string& sysfs_root) {
    DIR* dir = opendir(sysfs_root.c_str());
    if (dir == nullptr) {
        return Error(ErrorCode::kNotFound,
                     "cannot list PCI devices in " + sysfs_root + " (is sysfs mounted?)");
    }
    std::vector<std::string> names;
    while (dirent* e = readdir(dir)) {
        if (e->d_name[0] != '.') names.emplace_back(e->d_name);
    }
    closedir(dir);
    std::sort(names.begin(), names.end());  // the lowest address first, every time
    for (const auto& name : names) {
        std::string path = sysfs_root + "/" + name;
        if (ReadId(path + "/vendor") == HVCHAN_PCI_VENDOR_ID &&
            ReadId(path + "/device") == HVCHAN_PCI_DEVICE_ID) {
            return PciDeviceDir{path, name};
        }
    }
    char ids[32];
    snprintf(ids, sizeof ids, "%04x:%04x", HVCHAN_PCI_VENDOR_ID, HVCHAN_PCI_DEVICE_ID);
    return Error(ErrorCode::kNotFound,
                 std::string("no hvchan device (PCI ") + ids + ") in " + sysfs_root +
                     ": this VM was started without --hvchan, or not by hvmm");
}

}  // namespace hvkit::hvchan
