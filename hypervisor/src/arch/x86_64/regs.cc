// vCPU register state at boot: long mode for Linux's 64-bit entry, real mode
// for flat payloads, and the FPU.
#include <sys/ioctl.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "arch/x86_64/arch.h"
#include "arch/x86_64/layout.h"
#include "hvmm.h"

namespace hvkit::hvmm {

namespace {

constexpr uint64_t kCr0Pe = 1ull << 0;
constexpr uint64_t kCr0Et = 1ull << 4;
constexpr uint64_t kCr0Pg = 1ull << 31;
constexpr uint64_t kCr4Pae = 1ull << 5;
constexpr uint64_t kEferLme = 1ull << 8;
constexpr uint64_t kEferLma = 1ull << 10;
constexpr uint64_t kPtePresentWrite = 0x3;
constexpr uint64_t kPdeLargePage = 0x80;

Status IoctlError(const char* what) {
    return Error(ErrorCode::kIo, std::string(what) + ": " + strerror(errno));
}

Status WriteU64(GuestMemory& memory, uint64_t gpa, uint64_t value) {
    uint8_t bytes[8];
    memcpy(bytes, &value, sizeof bytes);  // x86 is little-endian, like the guest
    return memory.Write(gpa, bytes);
}

}  // namespace

Status WriteIdentityPageTables(GuestMemory& memory) {
    HVKIT_RETURN_IF_ERROR(
        WriteU64(memory, layout::kPml4Start, layout::kPdptStart | kPtePresentWrite));
    for (uint64_t i = 0; i < layout::kPdCount; ++i) {
        uint64_t pd = layout::kPdStart + i * 0x1000;
        HVKIT_RETURN_IF_ERROR(WriteU64(memory, layout::kPdptStart + i * 8, pd | kPtePresentWrite));
        for (uint64_t j = 0; j < 512; ++j) {
            uint64_t frame = (i << 30) | (j << 21);
            HVKIT_RETURN_IF_ERROR(
                WriteU64(memory, pd + j * 8, frame | kPtePresentWrite | kPdeLargePage));
        }
    }
    return Status::Ok();
}

Status ConfigureLongMode(int vcpu_fd, GuestMemory& memory, uint64_t entry, uint64_t boot_params) {
    std::vector<uint64_t> gdt = BootGdt();
    for (size_t i = 0; i < gdt.size(); ++i) {
        HVKIT_RETURN_IF_ERROR(WriteU64(memory, layout::kGdtStart + i * 8, gdt[i]));
    }
    HVKIT_RETURN_IF_ERROR(WriteU64(memory, layout::kIdtStart, 0));
    HVKIT_RETURN_IF_ERROR(WriteIdentityPageTables(memory));

    kvm_sregs sregs{};
    if (ioctl(vcpu_fd, KVM_GET_SREGS, &sregs) != 0) return IoctlError("KVM_GET_SREGS");
    sregs.gdt.base = layout::kGdtStart;
    sregs.gdt.limit = static_cast<uint16_t>(gdt.size() * 8 - 1);
    sregs.idt.base = layout::kIdtStart;
    sregs.idt.limit = 7;
    sregs.cs = SegmentFromGdt(gdt[2], 2);
    kvm_segment data = SegmentFromGdt(gdt[3], 3);
    sregs.ds = sregs.es = sregs.fs = sregs.gs = sregs.ss = data;
    sregs.tr = SegmentFromGdt(gdt[4], 4);
    sregs.cr0 |= kCr0Pe | kCr0Et | kCr0Pg;
    sregs.cr3 = layout::kPml4Start;
    sregs.cr4 |= kCr4Pae;
    sregs.efer |= kEferLme | kEferLma;
    if (ioctl(vcpu_fd, KVM_SET_SREGS, &sregs) != 0) return IoctlError("KVM_SET_SREGS (long mode)");

    kvm_regs regs{};
    regs.rflags = 0x2;  // reserved bit; interrupts off
    regs.rip = entry;
    regs.rsp = regs.rbp = layout::kBootStackPointer;
    regs.rsi = boot_params;
    if (ioctl(vcpu_fd, KVM_SET_REGS, &regs) != 0) return IoctlError("KVM_SET_REGS");
    return Status::Ok();
}

Status ConfigureRealMode(int vcpu_fd, uint64_t load_gpa) {
    if (load_gpa % 16 != 0 || load_gpa > 0xffff0) {
        return Error(ErrorCode::kInvalidArgument,
                     "real-mode load address is not a paragraph below 1 MiB");
    }
    kvm_sregs sregs{};
    if (ioctl(vcpu_fd, KVM_GET_SREGS, &sregs) != 0) return IoctlError("KVM_GET_SREGS");
    for (kvm_segment* seg : {&sregs.cs, &sregs.ds, &sregs.es, &sregs.fs, &sregs.gs, &sregs.ss}) {
        seg->selector = static_cast<uint16_t>(load_gpa >> 4);
        seg->base = load_gpa;
        seg->limit = 0xffff;
    }
    sregs.cr0 &= ~(kCr0Pe | kCr0Pg);
    if (ioctl(vcpu_fd, KVM_SET_SREGS, &sregs) != 0) return IoctlError("KVM_SET_SREGS (real mode)");
    kvm_regs regs{};
    regs.rflags = 0x2;
    regs.rip = 0;
    regs.rsp = layout::kRealModeStackOffset;
    if (ioctl(vcpu_fd, KVM_SET_REGS, &regs) != 0) return IoctlError("KVM_SET_REGS");
    return Status::Ok();
}

Status ConfigureFpu(int vcpu_fd) {
    kvm_fpu fpu{};
    fpu.fcw = 0x37f;
    fpu.mxcsr = 0x1f80;
    if (ioctl(vcpu_fd, KVM_SET_FPU, &fpu) != 0) return IoctlError("KVM_SET_FPU");
    return Status::Ok();
}

std::string DescribeVcpuState(int vcpu_fd) {
    kvm_regs regs{};
    kvm_sregs sregs{};
    if (ioctl(vcpu_fd, KVM_GET_REGS, &regs) != 0 || ioctl(vcpu_fd, KVM_GET_SREGS, &sregs) != 0) {
        return std::string("registers unreadable: ") + strerror(errno);
    }
    char line[384];
    snprintf(line, sizeof line,
             "rip=%#llx rsp=%#llx rflags=%#llx cs=%#x cr0=%#llx cr2=%#llx cr3=%#llx cr4=%#llx "
             "efer=%#llx gdt=%#llx/%#x idt=%#llx/%#x",
             static_cast<unsigned long long>(regs.rip), static_cast<unsigned long long>(regs.rsp),
             static_cast<unsigned long long>(regs.rflags), sregs.cs.selector,
             static_cast<unsigned long long>(sregs.cr0), static_cast<unsigned long long>(sregs.cr2),
             static_cast<unsigned long long>(sregs.cr3), static_cast<unsigned long long>(sregs.cr4),
             static_cast<unsigned long long>(sregs.efer),
             static_cast<unsigned long long>(sregs.gdt.base), sregs.gdt.limit,
             static_cast<unsigned long long>(sregs.idt.base), sregs.idt.limit);
    return line;
}

}  // namespace hvkit::hvmm
