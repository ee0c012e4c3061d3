// The machine facts' functions: what a PC's firmware would have set up
// before the kernel runs (Firecracker's arch/x86_64/ habit: one .cc per fact,
// declared here with its contract). Guest-physical addresses are in layout.h;
// the map of the rest of hvmm is hvmm.h.
#pragma once

#include <linux/kvm.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "hvkit/status.h"
#include "hvmm.h"

namespace hvkit::hvmm {

// arch/x86_64/e820.cc
struct E820Entry {
    uint64_t addr;
    uint64_t size;
    uint32_t type;  // 1 RAM, 2 reserved
};
inline constexpr uint32_t kE820Ram = 1;
inline constexpr uint32_t kE820Reserved = 2;

// The BIOS memory map a guest with (memory) sees: low RAM up to the EBDA,
// the legacy hole reserved, RAM from 1 MiB to the end of each region.
std::vector<E820Entry> BuildE820(const GuestMemory& memory);

// arch/x86_64/gdt.cc
// A GDT descriptor of (flags) (access byte and flags nibble as Linux's
// GDT_ENTRY writes them), (base) and (limit).
uint64_t GdtEntry(uint16_t flags, uint32_t base, uint32_t limit);
// The kvm_segment KVM_SET_SREGS wants for descriptor (entry) at GDT (index).
kvm_segment SegmentFromGdt(uint64_t entry, uint8_t index);
// The boot GDT: null, null, code64 (0x10, __BOOT_CS), data (0x18, __BOOT_DS), TSS (0x20).
std::vector<uint64_t> BootGdt();

// arch/x86_64/regs.cc
// Writes identity page tables for [0, 4 GiB) (2 MiB pages) at kPml4Start.
Status WriteIdentityPageTables(GuestMemory& memory);
// Puts (vcpu_fd) in 64-bit mode per the Linux 64-bit boot protocol: boot GDT
// and empty IDT written to (memory), paging on (CR3 = kPml4Start), EFER
// LME|LMA, RIP = (entry), RSI = (boot_params), interrupts off.
Status ConfigureLongMode(int vcpu_fd, GuestMemory& memory, uint64_t entry, uint64_t boot_params);
// Puts (vcpu_fd) in real mode at (load_gpa >> 4):0, all segments equal, stack
// just below kRealModeStackTop.
Status ConfigureRealMode(int vcpu_fd, uint64_t load_gpa);
// Power-on FPU state (FCW 0x37f, MXCSR 0x1f80).
Status ConfigureFpu(int vcpu_fd);
// One line of (vcpu_fd)'s state for a crash report: RIP, RSP, RFLAGS, CS,
// CR0/CR2/CR3/CR4, EFER, GDT and IDT; "registers unreadable: ..." on error.
std::string DescribeVcpuState(int vcpu_fd);

// arch/x86_64/cpuid.cc
// vCPU (index) of (count)'s CPUID: (supported) with its APIC ID (= index) in
// leaves 1, 0xb, 0x1f and 0x8000001e, the topology counts, the hypervisor bit,
// and hvmm's own leaf at kHvmmCpuidLeaf ("hvkit hvmm" + version).
std::vector<kvm_cpuid_entry2> BuildVcpuCpuid(const std::vector<kvm_cpuid_entry2>& supported,
                                             uint32_t index, uint32_t count);
// KVM_SET_CPUID2 on (vcpu_fd).
Status SetVcpuCpuid(int vcpu_fd, const std::vector<kvm_cpuid_entry2>& entries);
// The most CPUID entries a vCPU's state carries (saved and restored).
inline constexpr size_t kMaxCpuidEntries = 256;
// cpuid_state.cc: KVM_GET_CPUID2 of (vcpu_fd); and a restore's CPUID:
// nothing to do when the vCPU's equals (entries) but for the bits KVM derives
// at run time (also into a vCPU that has run), else KVM_SET_CPUID2, its
// error naming the first leaf that differs.
Result<std::vector<kvm_cpuid_entry2>> GetVcpuCpuid(int vcpu_fd);
Status RestoreVcpuCpuid(int vcpu_fd, const std::vector<kvm_cpuid_entry2>& entries);
inline constexpr uint32_t kHvmmCpuidLeaf = 0x40000100;

// arch/x86_64/msr.cc
// Boot values of the MSRs a fresh vCPU needs (SYSCALL MSRs 0, MISC_ENABLE fast
// strings, MTRRs default write-back), kept to those in (supported).
std::vector<kvm_msr_entry> BootMsrs(const std::vector<uint32_t>& supported);
// KVM_SET_MSRS; fails naming the first MSR KVM refused.
Status SetMsrs(int vcpu_fd, const std::vector<kvm_msr_entry>& msrs);

// arch/x86_64/lapic.cc
// LAPIC LINT0 = ExtINT (the PIC), LINT1 = NMI, as a PC's BIOS leaves them.
Status ConfigureLapic(int vcpu_fd);

// arch/x86_64/mptable.cc
// The Intel MP table bytes for (cpus) vCPUs (APIC IDs 0..cpus-1, CPU 0 the
// BSP), one ISA bus, the IOAPIC (ID = cpus) with ISA IRQs 0-15 on pins 0-15,
// LINT0 ExtINT and LINT1 NMI, placed at (base). Refuses counts that do not fit.
Result<std::vector<uint8_t>> BuildMpTable(uint32_t cpus, uint64_t base);
// BuildMpTable at kMptableStart, written to (memory).
Status WriteMpTable(GuestMemory& memory, uint32_t cpus);

}  // namespace hvkit::hvmm
