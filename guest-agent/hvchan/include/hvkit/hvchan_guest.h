// The guest side of hvchan: a userspace driver over the PCI function's BARs,
// found through sysfs (vendor/device IDs), mapped from resource0 (registers)
// and resource2 (shared memory). docs/hvchan-abi.md describes the protocol.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include "hvkit/fs.h"
#include "hvkit/hvchan_abi.h"
#include "hvkit/hvchan_status_table.h"  // StatusName
#include "hvkit/pci_sysfs.h"
#include "hvkit/status.h"

namespace hvkit::hvchan {

using PciDeviceDir = pci::DeviceDir;

// The first device under (sysfs_root) whose vendor and device files name
// hvchan's IDs; kNotFound (naming the IDs and the directory) when none does.
Result<PciDeviceDir> FindHvchanDevice(const std::string& sysfs_root = "/sys/bus/pci/devices");

// A call's outcome as the host wrote it to the call block.
struct CallResult {
    uint32_t status = HVCHAN_E_IO;
    std::array<uint64_t, HVCHAN_NUM_RETS> rets{};
    uint64_t sequence = 0;
    bool ok() const { return status == HVCHAN_OK; }
};

// An open channel: both BARs mapped, the handshake done (magic, ABI major).
// Holds an exclusive flock on resource0 while open, so one process in the
// guest makes calls at a time (the call block is shared).
class Channel {
  public:
    // Opens the device at (dir): enables memory decoding if the guest left
    // it off, maps the BARs, checks MAGIC and the ABI major version.
    static Result<std::unique_ptr<Channel>> Open(const PciDeviceDir& dir);
    // FindHvchanDevice + Open.
    static Result<std::unique_ptr<Channel>> OpenFirst(
        const std::string& sysfs_root = "/sys/bus/pci/devices");
    ~Channel();
    Channel(const Channel&) = delete;
    Channel& operator=(const Channel&) = delete;

    // Writes (args) to the call block and (number) to the call register (the
    // hypercall: the vCPU exits and the host runs it), then reads the result.
    CallResult Call(uint32_t number, const std::array<uint64_t, HVCHAN_NUM_ARGS>& args = {});
    // HVCHAN_CALL_INFO, checked: the host's struct, or an error naming the status.
    Result<hvchan_info> Info();

    // The call areas of BAR2.
    std::span<uint8_t> in_area();
    std::span<const uint8_t> out_area() const;

    // Raw register access (32-bit), for tests that probe the device.
    uint32_t ReadRegister(uint32_t offset) const;
    void WriteRegister(uint32_t offset, uint32_t value);
    // Register access of another width (1 or 2 bytes), which the device must
    // ignore; for the hostile-input test.
    uint32_t ReadRegisterNarrow(uint32_t offset, int width) const;

    const PciDeviceDir& device() const { return dir_; }
    uint32_t abi_version() const { return abi_version_; }

  private:
    Channel() = default;
    PciDeviceDir dir_;
    pci::MappedBar regs_bar_, shmem_bar_;
    volatile uint8_t* regs_ = nullptr;
    uint8_t* shmem_ = nullptr;
    size_t shmem_size_ = 0;
    uint32_t abi_version_ = 0;
};

}  // namespace hvkit::hvchan
