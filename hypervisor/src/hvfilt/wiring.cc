// hvfilt's doorbell and interrupt: KVM_IOEVENTFD at BAR2 and KVM_IRQFD on the
// INTx line, kept in step with the config space, and the PCI 2.3 interrupt
// status bit.
//
// Why this shape (docs/filter-rings.md, "The device"): the guest uses
// uio_pci_generic, whose handler claims an interrupt only when
// PCI_STATUS.INTERRUPT is set and then masks it with
// PCI_COMMAND.INTX_DISABLE; the guest's user space re-enables INTx when it
// has drained the rings. hvmm never sees hvfilterd's writes to the
// interrupt eventfd (KVM consumes them), so the status bit is built from
// what hvmm can see:
//   - INTx enabled: the irqfd is registered with a resample eventfd. KVM
//     holds the line asserted from hvfilterd's write until the guest EOIs
//     it, then signals the resample eventfd. The guest's IOAPIC treats ISA
//     IRQ 11 as edge-triggered, so Linux EOIs before its handler reads the
//     status: a signalled resample eventfd means "the guest took our
//     interrupt" and latches the status bit.
//   - INTX_DISABLE set: the irqfd is removed (KVM deasserts the line) and
//     hvfilterd's writes stay counted in the eventfd; the status bit also
//     reads set while that count is non-zero. Clearing INTX_DISABLE is the
//     acknowledgement: the latch clears and the irqfd is registered again,
//     which makes KVM deliver a count that arrived meanwhile at once.
#include <poll.h>
#include <unistd.h>

#include "arch/x86_64/layout.h"
#include "hvfilt/hvfilt.h"

namespace hvkit::hvmm {

namespace {

// Whether eventfd (fd) holds a count, without consuming it.
bool Readable(int fd) {
    pollfd p{fd, POLLIN, 0};
    return poll(&p, 1, 0) == 1 && (p.revents & POLLIN);
}

}  // namespace

void HvfiltDevice::SyncWiring() {
    uint64_t bar = config_.bar_address(HVFILT_REGISTER_BAR);
    bool decodes = config_.memory_enabled() && bar >= layout::kPciMmio32Start &&
                   bar + HVFILT_BAR2_SIZE <= layout::kPciMmio32Start + layout::kPciMmio32Size;
    // Quiesced (live takeover), the interrupt is not wired: hvfilterd's
    // interrupts stay counted in their eventfd for whichever VM wires it
    // next. The doorbell stays wired: only this VM's guest rings it, and
    // once paused it cannot (unwiring it would cost the blackout an SRCU
    // grace period for nothing).
    uint64_t want = decodes ? bar + HVFILT_REG_DOORBELL : 0;
    // A failed registration leaves the doorbell to BarWrite (slower, still
    // delivered) and the interrupt held in its eventfd; neither is the
    // guest's to see.
    if (want != doorbell_gpa_ && wiring_.ioeventfd) {
        if (doorbell_gpa_ != 0) (void)wiring_.ioeventfd(doorbell_.get(), doorbell_gpa_, 4, false);
        doorbell_gpa_ = 0;
        if (want != 0 && wiring_.ioeventfd(doorbell_.get(), want, 4, true).ok()) {
            doorbell_gpa_ = want;
        }
    }
    bool enabled = !(config_.command() & pci::kCommandIntxDisable) && !quiesced_;
    if (enabled != irqfd_assigned_ && wiring_.irqfd) {
        Status st = wiring_.irqfd(interrupt_.get(), layout::kIrqHvfilt, resample_.get(), enabled);
        if (st.ok() || !enabled) irqfd_assigned_ = enabled;
    }
}

void HvfiltDevice::ConfigWritten(uint16_t offset, size_t size) {
    (void)offset;
    (void)size;
    bool enabled = !(config_.command() & pci::kCommandIntxDisable);
    if (enabled && !irqfd_assigned_) {
        (void)InterruptPending();  // an EOI before the mask still counts as taken
        latched_ = false;          // re-enabling INTx acknowledges the interrupt
    }
    SyncWiring();
}

bool HvfiltDevice::InterruptPending() {
    uint64_t count = 0;
    if (read(resample_.get(), &count, sizeof count) == sizeof count && count != 0) latched_ = true;
    if (latched_) return true;
    return !irqfd_assigned_ && Readable(interrupt_.get());
}

uint32_t HvfiltDevice::ConfigRead(uint16_t offset, size_t size) {
    std::lock_guard lock(mu_);
    uint32_t value = config_.Read(offset, size);
    if (offset <= pci::kStatus && pci::kStatus < offset + size && InterruptPending()) {
        value |= uint32_t{pci::kStatusInterrupt} << (8 * (pci::kStatus - offset));
    }
    return value;
}

}  // namespace hvkit::hvmm
