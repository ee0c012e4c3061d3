// The VM: KVM_CREATE_VM, the in-kernel irqchip and PIT, memory slots, IRQ lines.
#include <sys/ioctl.h>

#include <cerrno>
#include <cstring>

#include "arch/x86_64/layout.h"
#include "hvmm.h"

namespace hvkit::hvmm {

namespace {

Status IoctlError(const char* what) {
    return Error(ErrorCode::kIo, std::string(what) + ": " + strerror(errno));
}

class KvmIrqLine final : public IrqLine {
  public:
    KvmIrqLine(Vm* vm, uint32_t irq) : vm_(vm), irq_(irq) {}
    // A failure here means the VM fd is gone; the device cannot do better than drop it.
    void Set(bool level) override { (void)vm_->SetIrqLine(irq_, level); }

  private:
    Vm* vm_;
    uint32_t irq_;
};

}  // namespace

Result<std::unique_ptr<Vm>> Vm::Create(const Kvm& kvm) {
    auto vm = std::make_unique<Vm>();
    int fd = -1;
    do {
        fd = ioctl(kvm.fd(), KVM_CREATE_VM, 0);
    } while (fd < 0 && errno == EINTR);
    if (fd < 0) return IoctlError("KVM_CREATE_VM");
    vm->fd_ = UniqueFd(fd);
    uint64_t identity_map = layout::kIdentityMapStart;
    if (ioctl(fd, KVM_SET_IDENTITY_MAP_ADDR, &identity_map) != 0) {
        return IoctlError("KVM_SET_IDENTITY_MAP_ADDR");
    }
    if (ioctl(fd, KVM_SET_TSS_ADDR, static_cast<unsigned long>(layout::kTssStart)) != 0) {
        return IoctlError("KVM_SET_TSS_ADDR");
    }
    if (ioctl(fd, KVM_CREATE_IRQCHIP, 0) != 0) return IoctlError("KVM_CREATE_IRQCHIP");
    kvm_pit_config pit{};
    pit.flags = KVM_PIT_SPEAKER_DUMMY;  // port 0x61 handled in the kernel too
    if (ioctl(fd, KVM_CREATE_PIT2, &pit) != 0) return IoctlError("KVM_CREATE_PIT2");
    return vm;
}

Status Vm::MapMemory(const GuestMemory& memory) {
    uint32_t slot = 0;
    for (const MemoryRegion& r : memory.regions()) {
        kvm_userspace_memory_region region{};
        region.slot = slot++;
        region.guest_phys_addr = r.gpa;
        region.memory_size = r.size;
        region.userspace_addr = reinterpret_cast<uint64_t>(r.host);
        if (ioctl(fd_.get(), KVM_SET_USER_MEMORY_REGION, &region) != 0) {
            return IoctlError("KVM_SET_USER_MEMORY_REGION");
        }
    }
    return Status::Ok();
}

Status Vm::SetIrqLine(uint32_t irq, bool level) {
    kvm_irq_level line{};
    line.irq = irq;
    line.level = level ? 1 : 0;
    if (ioctl(fd_.get(), KVM_IRQ_LINE, &line) != 0) return IoctlError("KVM_IRQ_LINE");
    return Status::Ok();
}

std::shared_ptr<IrqLine> Vm::MakeIrqLine(uint32_t irq) {
    return std::make_shared<KvmIrqLine>(this, irq);
}

Status Vm::SignalMsi(uint64_t address, uint32_t data) {
    kvm_msi msi{};
    msi.address_lo = static_cast<uint32_t>(address);
    msi.address_hi = static_cast<uint32_t>(address >> 32);
    msi.data = data;
    if (ioctl(fd_.get(), KVM_SIGNAL_MSI, &msi) < 0) return IoctlError("KVM_SIGNAL_MSI");
    return Status::Ok();
}

Status Vm::SetDeviceMemory(uint32_t slot, uint64_t gpa, uint64_t size, void* host) {
    if (slot < kDeviceMemorySlotBase) {
        return Error(ErrorCode::kInvalidArgument,
                     "device memory slot " + std::to_string(slot) + " is a RAM slot");
    }
    kvm_userspace_memory_region region{};
    region.slot = slot;
    region.guest_phys_addr = gpa;
    region.memory_size = size;
    region.userspace_addr = reinterpret_cast<uint64_t>(host);
    if (ioctl(fd_.get(), KVM_SET_USER_MEMORY_REGION, &region) != 0) {
        return IoctlError("KVM_SET_USER_MEMORY_REGION (device memory)");
    }
    return Status::Ok();
}

Status Vm::SetIoeventfd(int fd, uint64_t gpa, uint32_t len, bool assign) {
    kvm_ioeventfd io{};
    io.addr = gpa;
    io.len = len;
    io.fd = fd;
    io.flags = assign ? 0 : KVM_IOEVENTFD_FLAG_DEASSIGN;
    if (ioctl(fd_.get(), KVM_IOEVENTFD, &io) != 0) return IoctlError("KVM_IOEVENTFD");
    return Status::Ok();
}

Status Vm::SetIrqfd(int fd, uint32_t gsi, int resample_fd, bool assign) {
    kvm_irqfd irq{};
    irq.fd = static_cast<uint32_t>(fd);
    irq.gsi = gsi;
    if (assign) {
        irq.flags = KVM_IRQFD_FLAG_RESAMPLE;
        irq.resamplefd = static_cast<uint32_t>(resample_fd);
    } else {
        irq.flags = KVM_IRQFD_FLAG_DEASSIGN;
    }
    if (ioctl(fd_.get(), KVM_IRQFD, &irq) != 0) return IoctlError("KVM_IRQFD");
    return Status::Ok();
}

}  // namespace hvkit::hvmm
