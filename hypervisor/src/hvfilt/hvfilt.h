// hvfilt, the filter-ring device: a PCI function that maps the filter-ring
// region (docs/filter-rings.md) into the guest and wires its doorbell and
// interrupt to eventfds in the kernel, so hvfilterd and the guest exchange
// items without hvmm's threads in the path. The ABI is
// filters/abi/include/hvkit/hvfilt_abi.h.
//
//   device.cc  HvfiltDevice: config space, BAR2 registers, save/restore,
//              handing the fds to an attaching hvfilterd
//   wiring.cc  the doorbell's ioeventfd and INTx's irqfd following the
//              config space (BAR2 address, memory decoding, INTx disable),
//              and the PCI 2.3 interrupt status bit
//
// hvmm never reads or writes the region: it is hvfilterd's and the guest's.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <span>

#include "hvkit/hvfilt_abi.h"
#include "pci/pci.h"

namespace hvkit::hvmm {

// What an attaching hvfilterd receives: the region's size, the ring ABI
// version hvmm expects, and dups of the region memfd, the doorbell eventfd
// (guest -> host kicks) and the interrupt eventfd (host -> guest), in that
// order.
struct FilterAttachment {
    uint64_t region_size = 0;
    uint32_t abi_major = 0;
    uint32_t abi_minor = 0;
    std::array<UniqueFd, 3> fds;
};

// Checks --filter-rings' (size): a power of two in [HVFILT_MIN_REGION_SIZE,
// HVFILT_MAX_REGION_SIZE]; the error names the flag and the bounds.
Status CheckFilterRegionSize(uint64_t size);

// Accesses that reached hvmm instead of the kernel, for tests and status.
struct HvfiltCounters {
    uint64_t doorbell_exits = 0;  // doorbell writes the ioeventfd did not take
    uint64_t bad_register_accesses = 0;
};

class HvfiltDevice final : public PciFunction {
  public:
    // A device with a (region_size)-byte region (CheckFilterRegionSize) at
    // BAR0 address (region_bar) and its registers at (register_bar), both
    // aligned to their sizes; decoding is on from power-on, as firmware
    // leaves a device whose BARs it assigned. (wiring) registers the
    // doorbell and the interrupt with KVM.
    static Result<std::shared_ptr<HvfiltDevice>> Create(uint64_t region_size, uint32_t region_bar,
                                                        uint32_t register_bar,
                                                        KvmEventfdWiring wiring);
    // The same over the predecessor's region and eventfds from (fds) (live
    // takeover: hvfilterd stays attached to them), quiesced.
    static Result<std::shared_ptr<HvfiltDevice>> Adopt(HandoverFds& fds, uint64_t region_size,
                                                       uint32_t region_bar, uint32_t register_bar,
                                                       KvmEventfdWiring wiring);

    std::string_view name() const override { return "hvfilt"; }
    // Adds the interrupt status bit (PCI_STATUS bit 3) to reads of the
    // status register.
    uint32_t ConfigRead(uint16_t offset, size_t size) override;
    void BarRead(int bar, uint64_t offset, std::span<uint8_t> data) override;
    void BarWrite(int bar, uint64_t offset, std::span<const uint8_t> data) override;
    std::span<uint8_t> BarMemory(int bar) override;
    // Config space and the latched interrupt status. The region's contents
    // and the eventfds' counts are not hvmm's: they live in the fds.
    Json Save() const override;
    Status Restore(const Json& state) override;
    void Reset() override;
    // The region memfd and the doorbell, interrupt and resample eventfds.
    void ShareFds(std::vector<SharedFd>& out) const override;
    // Unwires the doorbell and the irqfd from KVM (KVM deasserts the line;
    // hvfilterd's writes stay counted) and wires them again.
    void Quiesce() override;
    void Unquiesce() override;

    // Dups of the region memfd and both eventfds for one attaching client.
    Result<FilterAttachment> Attach() const;
    HvfiltCounters counters() const;
    uint64_t region_size() const { return region_.size(); }

  private:
    HvfiltDevice(MemfdMapping region, UniqueFd doorbell, UniqueFd interrupt, UniqueFd resample,
                 uint32_t region_bar, uint32_t register_bar, KvmEventfdWiring wiring);
    void ConfigWritten(uint16_t offset, size_t size) override;
    uint32_t ReadRegister(uint64_t offset);

    // wiring.cc, all with mu_ held.
    // Registers the doorbell ioeventfd at BAR2 while it decodes, and the
    // INTx irqfd while INTx is enabled (PCI_COMMAND.INTX_DISABLE clear);
    // removes them otherwise.
    void SyncWiring();
    // The interrupt status bit: an interrupt the guest took (KVM signalled
    // the resample eventfd) and has not acknowledged by re-enabling INTx, or
    // one hvfilterd raised while INTx is disabled.
    bool InterruptPending();

    MemfdMapping region_;
    UniqueFd doorbell_;   // KVM_IOEVENTFD signals it; hvfilterd reads it
    UniqueFd interrupt_;  // hvfilterd writes it; KVM_IRQFD injects it
    UniqueFd resample_;   // KVM signals it when the guest EOIs the interrupt
    KvmEventfdWiring wiring_;
    uint64_t doorbell_gpa_ = 0;  // where the ioeventfd is registered, 0 = nowhere
    bool irqfd_assigned_ = false;
    bool latched_ = false;   // the guest took an interrupt it has not acknowledged
    bool quiesced_ = false;  // no KVM wiring (live takeover)
    HvfiltCounters counters_;
};

}  // namespace hvkit::hvmm
