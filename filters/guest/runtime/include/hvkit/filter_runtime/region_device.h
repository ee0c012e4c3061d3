// Where the guest's filter runtime finds its filter region and doorbells.
// In a VM: hvmm's hvfilt PCI function through uio_pci_generic
// (OpenUioRegionDevice). In tests: a memfd and two eventfds, exactly what
// hvmm hands hvfilterd (EventfdRegionDevice).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "hvkit/fs.h"
#include "hvkit/status.h"

namespace hvkit::filter_runtime {

class RegionDevice {
  public:
    virtual ~RegionDevice() = default;

    // The region, mapped shared with the host, 64-byte aligned.
    virtual std::span<uint8_t> region() = 0;
    // Rings the host's doorbell: verdicts were published.
    virtual void Kick() = 0;
    // Becomes readable (POLLIN) when the host interrupts the guest.
    virtual int interrupt_fd() const = 0;
    // Consumes what made interrupt_fd readable (never blocks).
    virtual void TakeInterrupt() = 0;
    // Lets the next interrupt through (uio_pci_generic masks INTx after
    // each one); call before sleeping.
    virtual void Unmask() = 0;
    // For messages: "hvfilt 0000:00:05.0 (uio0)".
    virtual std::string Describe() const = 0;
};

// hvmm's hvfilt function (hvkit/hvfilt_abi.h): found by its IDs under
// (sysfs_root) (or at (address) when given), bound to uio_pci_generic
// (which must be loaded), BAR0 mapped as the region, BAR2 for the doorbell,
// /dev/uioN for the interrupt. Errors name the device and the step.
Result<std::unique_ptr<RegionDevice>> OpenUioRegionDevice(
    const std::string& address = "", const std::string& sysfs_root = "/sys/bus/pci/devices");

// A region in (region_fd) of (size) bytes; (doorbell_fd) is written to
// kick the host, (interrupt_fd) read for interrupts. Takes ownership.
Result<std::unique_ptr<RegionDevice>> OpenEventfdRegionDevice(UniqueFd region_fd, uint64_t size,
                                                              UniqueFd doorbell_fd,
                                                              UniqueFd interrupt_fd);

}  // namespace hvkit::filter_runtime
