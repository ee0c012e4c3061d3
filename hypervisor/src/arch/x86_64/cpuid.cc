// Per-vCPU CPUID: what KVM supports, with this vCPU's APIC ID and the
// machine's topology filled in, the hypervisor bit set, and hvmm's own leaf.
#include <sys/ioctl.h>

#include <cerrno>
#include <cstring>

#include "arch/x86_64/arch.h"
#include "hvmm.h"
#include "vstate/kvm_abi.h"

namespace hvkit::hvmm {

namespace {

// Bits needed to number (count) things: ceil(log2(count)).
uint32_t BitsFor(uint32_t count) {
    uint32_t bits = 0;
    while ((1u << bits) < count) ++bits;
    return bits;
}

// Extended topology (leaves 0xb and 0x1f): all vCPUs are cores of one
// package, one thread each. Level 0 = SMT, level 1 = core.
void FillTopology(kvm_cpuid_entry2& e, uint32_t apic_id, uint32_t count) {
    uint32_t level = e.index;
    e.edx = apic_id;
    if (level == 0) {
        e.eax = 0;
        e.ebx = 1;
        e.ecx = (1u << 8) | level;
    } else if (level == 1) {
        e.eax = BitsFor(count);
        e.ebx = count;
        e.ecx = (2u << 8) | level;
    } else {
        e.eax = e.ebx = 0;
        e.ecx = level;
    }
}

uint32_t Chars(const char* four) {
    uint32_t v;
    memcpy(&v, four, 4);
    return v;
}

}  // namespace

std::vector<kvm_cpuid_entry2> BuildVcpuCpuid(const std::vector<kvm_cpuid_entry2>& supported,
                                             uint32_t index, uint32_t count) {
    std::vector<kvm_cpuid_entry2> out;
    out.reserve(supported.size() + 2);
    uint32_t apic_id = index;
    for (kvm_cpuid_entry2 e : supported) {
        switch (e.function) {
            case 0x1:
                e.ebx = (e.ebx & 0x0000ffff) | ((count & 0xff) << 16) | (apic_id << 24);
                e.ecx |= 1u << 31;                 // running under a hypervisor
                if (count > 1) e.edx |= 1u << 28;  // HTT: the count field is valid
                break;
            case 0x4:
                // Cores per package - 1 in bits 31:26; one thread per cache sharer.
                e.eax = (e.eax & 0x3ff) | (((count - 1) & 0x3f) << 26);
                break;
            case 0xb:
            case 0x1f:
                FillTopology(e, apic_id, count);
                break;
            case 0x80000008:
                // AMD: cores per package - 1 (NC, bits 7:0) and the APIC ID
                // bits that number them (bits 15:12). KVM reports the host's
                // (a 2-core host told a 1-vCPU guest it had 2 cores);
                // QEMU derives both from its topology, as hvmm does here.
                e.ecx = (e.ecx & ~0xf0ffu) | (BitsFor(count) << 12) | ((count - 1) & 0xff);
                break;
            case 0x8000001e:  // AMD: extended APIC ID, compute unit, node
                e.eax = apic_id;
                e.ebx = index & 0xff;
                e.ecx = 0;
                break;
            case 0x40000000:
                // Leave KVM's "KVMKVMKVM" so Linux finds kvmclock and PV EOI.
                break;
            default:
                break;
        }
        out.push_back(e);
    }
    // hvmm's own leaves: signature "hvkit-hvmm\0\0", then the version.
    kvm_cpuid_entry2 sig{};
    sig.function = kHvmmCpuidLeaf;
    sig.eax = kHvmmCpuidLeaf + 1;
    sig.ebx = Chars("hvki");
    sig.ecx = Chars("t-hv");
    sig.edx = Chars("mm\0\0");
    out.push_back(sig);
    kvm_cpuid_entry2 ver{};
    ver.function = kHvmmCpuidLeaf + 1;
    ver.eax = HvmmVersionNumber();  // major << 16 | minor << 8 | patch
    out.push_back(ver);
    return out;
}

Status SetVcpuCpuid(int vcpu_fd, const std::vector<kvm_cpuid_entry2>& entries) {
    KvmCpuidHeader header{static_cast<uint32_t>(entries.size()), 0};
    std::vector<uint8_t> buf(sizeof header + entries.size() * sizeof(kvm_cpuid_entry2));
    memcpy(buf.data(), &header, sizeof header);
    memcpy(buf.data() + sizeof header, entries.data(), entries.size() * sizeof(kvm_cpuid_entry2));
    if (ioctl(vcpu_fd, kKvmSetCpuid2, buf.data()) != 0) {
        return Error(ErrorCode::kIo, std::string("KVM_SET_CPUID2: ") + strerror(errno));
    }
    return Status::Ok();
}

}  // namespace hvkit::hvmm
