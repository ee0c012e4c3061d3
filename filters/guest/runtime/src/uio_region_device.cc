// hvmm's hvfilt function as a RegionDevice: bound to uio_pci_generic, BAR0
// (the region) and BAR2 (the doorbell register) mapped through sysfs, the
// interrupt through /dev/uioN (docs/filter-rings.md, "The device").
#include <dirent.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>

#include "hvkit/clock.h"
#include "hvkit/filter_ring_abi.h"
#include "hvkit/filter_runtime/region_device.h"
#include "hvkit/hvfilt_abi.h"
#include "hvkit/pci_sysfs.h"

namespace hvkit::filter_runtime {

namespace {

constexpr const char* kUioDriver = "/sys/bus/pci/drivers/uio_pci_generic";
constexpr auto kBindWait = std::chrono::seconds(5);
constexpr off_t kCommandHigh = 0x05;        // PCI_COMMAND's high byte
constexpr uint8_t kIntxDisableHigh = 0x04;  // PCI_COMMAND_INTX_DISABLE (bit 10) in it

Status SysError(const std::string& what) {
    return Error(ErrorCode::kIo, what + ": " + strerror(errno));
}

// Writes (text) to sysfs file (path).
Status WriteSysfs(const std::string& path, const std::string& text) {
    UniqueFd fd(open(path.c_str(), O_WRONLY | O_CLOEXEC));
    if (!fd.valid()) return SysError("opening " + path);
    if (write(fd.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size())) {
        return SysError("writing \"" + text + "\" to " + path);
    }
    return Status::Ok();
}

// The driver bound to (dir), "" when none.
std::string BoundDriver(const pci::DeviceDir& dir) {
    char target[512];
    ssize_t n = readlink((dir.path + "/driver").c_str(), target, sizeof target - 1);
    if (n <= 0) return "";
    std::string path(target, static_cast<size_t>(n));
    return path.substr(path.rfind('/') + 1);
}

// The uioN name under (dir)/uio, "" while there is none.
std::string UioName(const pci::DeviceDir& dir) {
    DIR* d = opendir((dir.path + "/uio").c_str());
    if (d == nullptr) return "";
    std::string name;
    while (dirent* e = readdir(d)) {
        if (std::strncmp(e->d_name, "uio", 3) == 0) name = e->d_name;
    }
    closedir(d);
    return name;
}

// Binds (dir), and only it, to uio_pci_generic (driver_override, then a
// probe: a new_id would bind every function with these IDs) and returns
// its uioN.
Result<std::string> BindToUio(const pci::DeviceDir& dir) {
    const std::string driver = BoundDriver(dir);
    if (driver.empty()) {
        if (access(kUioDriver, F_OK) != 0) {
            return Error(
                ErrorCode::kNotFound,
                dir.address + ": uio_pci_generic is not loaded (modprobe uio_pci_generic)");
        }
        HVKIT_RETURN_IF_ERROR(WriteSysfs(dir.path + "/driver_override", "uio_pci_generic"));
        HVKIT_RETURN_IF_ERROR(WriteSysfs("/sys/bus/pci/drivers_probe", dir.address));
    } else if (driver != "uio_pci_generic") {
        return Error(ErrorCode::kConflict,
                     dir.address + ": bound to " + driver + ", not uio_pci_generic");
    }
    const auto give_up = RealClock().Now() + kBindWait;
    for (;;) {
        std::string uio = UioName(dir);
        if (!uio.empty()) return uio;
        if (RealClock().Now() > give_up) {
            return Error(ErrorCode::kIo,
                         dir.address + ": no uio device " + std::to_string(kBindWait.count()) +
                             " s after binding uio_pci_generic (driver: " + BoundDriver(dir) + ")");
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
}

class UioRegionDevice final : public RegionDevice {
  public:
    UioRegionDevice(pci::DeviceDir dir, std::string uio, pci::MappedBar region,
                    pci::MappedBar registers, UniqueFd uio_fd, UniqueFd config_fd)
        : dir_(std::move(dir)),
          uio_(std::move(uio)),
          region_(std::move(region)),
          registers_(std::move(registers)),
          uio_fd_(std::move(uio_fd)),
          config_fd_(std::move(config_fd)) {}

    std::span<uint8_t> region() override { return {region_.data(), region_.size()}; }
    void Kick() override { Write(HVFILT_REG_DOORBELL, 1); }
    int interrupt_fd() const override { return uio_fd_.get(); }
    // uio_pci_generic's handler masked INTx (PCI_COMMAND.INTX_DISABLE) when
    // it took the interrupt.
    void TakeInterrupt() override {
        uint32_t count;
        if (read(uio_fd_.get(), &count, sizeof count) == sizeof count) masked_ = true;
    }
    // uio_pci_generic has no irqcontrol (a write to /dev/uioN fails with
    // EIO): user space clears INTX_DISABLE in the config space itself, in
    // the command register's high byte. Only after an interrupt: each
    // config access is an exit to hvmm.
    void Unmask() override {
        if (!masked_) return;
        uint8_t high = 0;
        if (pread(config_fd_.get(), &high, 1, kCommandHigh) != 1) return;
        high &= static_cast<uint8_t>(~kIntxDisableHigh);
        if (pwrite(config_fd_.get(), &high, 1, kCommandHigh) == 1) masked_ = false;
    }
    std::string Describe() const override { return "hvfilt " + dir_.address + " (" + uio_ + ")"; }

    uint32_t Read(uint32_t offset) const {
        return *reinterpret_cast<const volatile uint32_t*>(registers_.data() + offset);
    }
    void Write(uint32_t offset, uint32_t value) {
        *reinterpret_cast<volatile uint32_t*>(registers_.data() + offset) = value;
    }

  private:
    pci::DeviceDir dir_;
    std::string uio_;
    pci::MappedBar region_;
    pci::MappedBar registers_;
    UniqueFd uio_fd_;
    UniqueFd config_fd_;
    bool masked_ = true;  // at open: an interrupt may have come before (INTx masked)
};

// The register BAR's handshake: magic, the ring ABI's major, the region size.
Status CheckRegisters(const UioRegionDevice& device, const pci::DeviceDir& dir,
                      uint64_t region_bytes) {
    const uint32_t magic = device.Read(HVFILT_REG_MAGIC);
    if (magic != HVFILT_MAGIC) {
        char text[96];
        snprintf(text, sizeof text, "%s: magic 0x%08x is not hvfilt's 0x%08x", dir.address.c_str(),
                 magic, HVFILT_MAGIC);
        return Error(ErrorCode::kMalformed, text);
    }
    const uint32_t abi = device.Read(HVFILT_REG_ABI_VERSION);
    if ((abi >> 16) != HVFILTER_ABI_MAJOR) {
        return Error(ErrorCode::kConflict,
                     dir.address + ": the host's ring ABI is " + std::to_string(abi >> 16) + "." +
                         std::to_string(abi & 0xffff) + ", this guest speaks " +
                         std::to_string(HVFILTER_ABI_MAJOR) + ".x");
    }
    const uint64_t size = device.Read(HVFILT_REG_REGION_SIZE_LO) |
                          uint64_t{device.Read(HVFILT_REG_REGION_SIZE_HI)} << 32;
    if (size != region_bytes) {
        return Error(ErrorCode::kMalformed, dir.address + ": BAR0 maps " +
                                                std::to_string(region_bytes) +
                                                " bytes, the device says " + std::to_string(size));
    }
    return Status::Ok();
}

}  // namespace

Result<std::unique_ptr<RegionDevice>> OpenUioRegionDevice(const std::string& address,
                                                          const std::string& sysfs_root) {
    pci::DeviceDir dir{sysfs_root + "/" + address, address};
    if (address.empty()) {
        HVKIT_ASSIGN_OR_RETURN(
            std::optional<pci::DeviceDir> found,
            pci::FindDevice(HVFILT_PCI_VENDOR_ID, HVFILT_PCI_DEVICE_ID, sysfs_root));
        if (!found) {
            char ids[32];
            snprintf(ids, sizeof ids, "%04x:%04x", HVFILT_PCI_VENDOR_ID, HVFILT_PCI_DEVICE_ID);
            return Error(ErrorCode::kNotFound, std::string("no filter rings: no PCI device ") +
                                                   ids + " in " + sysfs_root +
                                                   "; this VM was started without --filter-rings");
        }
        dir = *found;
    }
    HVKIT_ASSIGN_OR_RETURN(std::string uio, BindToUio(dir));
    HVKIT_RETURN_IF_ERROR(pci::EnsureDecoding(dir));
    HVKIT_ASSIGN_OR_RETURN(
        pci::MappedBar region,
        pci::MappedBar::Map(dir.path + "/resource" + std::to_string(HVFILT_REGION_BAR)));
    HVKIT_ASSIGN_OR_RETURN(
        pci::MappedBar registers,
        pci::MappedBar::Map(dir.path + "/resource" + std::to_string(HVFILT_REGISTER_BAR)));
    if (registers.size() < HVFILT_BAR2_SIZE) {
        return Error(ErrorCode::kMalformed, dir.address + ": BAR2 is smaller than the ABI's");
    }
    UniqueFd uio_fd(open(("/dev/" + uio).c_str(), O_RDWR | O_NONBLOCK | O_CLOEXEC));
    if (!uio_fd.valid()) return SysError("opening /dev/" + uio);
    UniqueFd config_fd(open((dir.path + "/config").c_str(), O_RDWR | O_CLOEXEC));
    if (!config_fd.valid()) return SysError("opening " + dir.path + "/config");
    // Forked chain workers have no business with the region.
    madvise(region.data(), region.size(), MADV_DONTFORK);
    const uint64_t region_bytes = region.size();
    auto device = std::make_unique<UioRegionDevice>(
        dir, uio, std::move(region), std::move(registers), std::move(uio_fd), std::move(config_fd));
    HVKIT_RETURN_IF_ERROR(CheckRegisters(*device, dir, region_bytes));
    return std::unique_ptr<RegionDevice>(std::move(device));
}

}  // namespace hvkit::filter_runtime
