// The local APIC's LINT pins as a PC BIOS leaves them, so the PIC's interrupts
// (LINT0, ExtINT) and NMIs (LINT1) reach the CPU before the guest programs the
// IOAPIC.
#include <sys/ioctl.h>

#include <cerrno>
#include <cstring>

#include "arch/x86_64/arch.h"
#include "hvmm.h"

namespace hvkit::hvmm {

namespace {

constexpr size_t kApicLvt0 = 0x350;
constexpr size_t kApicLvt1 = 0x360;
constexpr uint32_t kDeliveryExtInt = 7;
constexpr uint32_t kDeliveryNmi = 4;

uint32_t GetReg(const kvm_lapic_state& s, size_t off) {
    uint32_t v;
    memcpy(&v, s.regs + off, sizeof v);
    return v;
}

void SetReg(kvm_lapic_state& s, size_t off, uint32_t v) {
    memcpy(s.regs + off, &v, sizeof v);
}

uint32_t WithDeliveryMode(uint32_t reg, uint32_t mode) {
    return (reg & ~0x700u) | (mode << 8);
}

}  // namespace

Status ConfigureLapic(int vcpu_fd) {
    kvm_lapic_state lapic{};
    if (ioctl(vcpu_fd, KVM_GET_LAPIC, &lapic) != 0) {
        return Error(ErrorCode::kIo, std::string("KVM_GET_LAPIC: ") + strerror(errno));
    }
    SetReg(lapic, kApicLvt0, WithDeliveryMode(GetReg(lapic, kApicLvt0), kDeliveryExtInt));
    SetReg(lapic, kApicLvt1, WithDeliveryMode(GetReg(lapic, kApicLvt1), kDeliveryNmi));
    if (ioctl(vcpu_fd, KVM_SET_LAPIC, &lapic) != 0) {
        return Error(ErrorCode::kIo, std::string("KVM_SET_LAPIC: ") + strerror(errno));
    }
    return Status::Ok();
}

}  // namespace hvkit::hvmm
