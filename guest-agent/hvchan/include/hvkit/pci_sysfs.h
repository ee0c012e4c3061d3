// A guest's user-space view of a PCI function through sysfs: finding it by
// its IDs, turning memory decoding on, mapping a BAR from its resourceN
// file. hvchan and the filter runtime's hvfilt device both use it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "hvkit/fs.h"
#include "hvkit/status.h"

namespace hvkit::pci {

// A PCI function's sysfs directory, e.g. /sys/bus/pci/devices/0000:00:02.0.
struct DeviceDir {
    std::string path;
    std::string address;  // 0000:00:02.0
};

// The first device (lowest address) under (sysfs_root) whose vendor and
// device files hold (vendor) and (device); nullopt when none does (the
// caller says what that means). kNotFound when (sysfs_root) cannot be listed.
Result<std::optional<DeviceDir>> FindDevice(uint16_t vendor, uint16_t device,
                                            const std::string& sysfs_root = "/sys/bus/pci/devices");

// Turns memory decoding on through sysfs "enable" when the guest's kernel
// left it off.
Status EnsureDecoding(const DeviceDir& dir);

// One BAR mapped read-write, whole, from its resourceN file; unmapped when
// destroyed.
class MappedBar {
  public:
    static Result<MappedBar> Map(const std::string& resource_path);
    MappedBar() = default;
    ~MappedBar();
    MappedBar(MappedBar&& other) noexcept;
    MappedBar& operator=(MappedBar&& other) noexcept;

    uint8_t* data() const { return data_; }
    size_t size() const { return size_; }
    int fd() const { return fd_.get(); }

  private:
    UniqueFd fd_;
    uint8_t* data_ = nullptr;
    size_t size_ = 0;
};

}  // namespace hvkit::pci
