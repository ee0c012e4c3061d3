// Finding hvchan in sysfs by its PCI vendor and device IDs.
#include <cstdio>

#include "hvkit/hvchan_guest.h"

namespace hvkit::hvchan {

Result<PciDeviceDir> FindHvchanDevice(const std::string& sysfs_root) {
    HVKIT_ASSIGN_OR_RETURN(std::optional<PciDeviceDir> dir,
                           pci::FindDevice(HVCHAN_PCI_VENDOR_ID, HVCHAN_PCI_DEVICE_ID, sysfs_root));
    if (dir) return *dir;
    char ids[32];
    snprintf(ids, sizeof ids, "%04x:%04x", HVCHAN_PCI_VENDOR_ID, HVCHAN_PCI_DEVICE_ID);
    return Error(ErrorCode::kNotFound,
                 std::string("no hvchan device (PCI ") + ids + ") in " + sysfs_root +
                     ": this VM was started without --hvchan, or not by hvmm");
}

}  // namespace hvkit::hvchan
