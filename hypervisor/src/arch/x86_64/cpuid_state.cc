// A vCPU's CPUID as saved state: read back from KVM, and set again on a
// restore, also into a vCPU that has run (a takeover handed back).
#include <sys/ioctl.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "arch/x86_64/arch.h"
#include "hvmm.h"
#include "vstate/kvm_abi.h"

namespace hvkit::hvmm {

namespace {

// The bits KVM derives at run time from other state (its
// __kvm_update_cpuid_runtime): CR4.OSXSAVE and CR4.PKE, the APIC base's
// enable, MISC_ENABLE's MWAIT, and XCR0/XSS for XSAVE's area sizes. A
// restore sets that other state right after the CPUID, so KVM recomputes
// them; and a vCPU that has run reports them as its guest set them.
struct RuntimeBits {
    uint32_t function;
    uint32_t index;
    uint32_t eax, ebx, ecx, edx;
};
constexpr RuntimeBits kRuntimeBits[] = {
    {0x1, 0, 0, 0, 1u << 27 | 1u << 3, 1u << 9},  // OSXSAVE, MONITOR; APIC
    {0x7, 0, 0, 0, 1u << 4, 0},                   // OSPKE
    {0xd, 0, 0, ~0u, 0, 0},                       // XSAVE size for XCR0
    {0xd, 1, 0, ~0u, 0, 0},                       // ... for XCR0 | XSS
};

const RuntimeBits* RuntimeBitsOf(const kvm_cpuid_entry2& e) {
    for (const RuntimeBits& r : kRuntimeBits) {
        if (r.function == e.function && r.index == e.index) return &r;
    }
    return nullptr;
}

// The first register of (a) and (b) that differs beyond the runtime bits,
// as "leaf 0x1.0 ecx: 0x.. here, 0x.. in the state"; "" when none does.
std::string Difference(const kvm_cpuid_entry2& here, const kvm_cpuid_entry2& state) {
    char line[128];
    if (here.function != state.function || here.index != state.index || here.flags != state.flags) {
        snprintf(line, sizeof line, "leaf 0x%x.%u here, 0x%x.%u in the state", here.function,
                 here.index, state.function, state.index);
        return line;
    }
    const RuntimeBits* r = RuntimeBitsOf(here);
    const uint32_t masks[] = {r ? r->eax : 0, r ? r->ebx : 0, r ? r->ecx : 0, r ? r->edx : 0};
    const uint32_t a[] = {here.eax, here.ebx, here.ecx, here.edx};
    const uint32_t b[] = {state.eax, state.ebx, state.ecx, state.edx};
    static constexpr const char* kNames[] = {"eax", "ebx", "ecx", "edx"};
    for (int i = 0; i < 4; ++i) {
        if ((a[i] & ~masks[i]) != (b[i] & ~masks[i])) {
            snprintf(line, sizeof line, "leaf 0x%x.%u %s: 0x%x here, 0x%x in the state",
                     here.function, here.index, kNames[i], a[i], b[i]);
            return line;
        }
    }
    return "";
}

}  // namespace

Result<std::vector<kvm_cpuid_entry2>> GetVcpuCpuid(int vcpu_fd) {
    std::vector<uint8_t> buf(sizeof(KvmCpuidHeader) + kMaxCpuidEntries * sizeof(kvm_cpuid_entry2));
    KvmCpuidHeader header{kMaxCpuidEntries, 0};
    memcpy(buf.data(), &header, sizeof header);
    if (ioctl(vcpu_fd, kKvmGetCpuid2, buf.data()) != 0) {
        return Error(ErrorCode::kIo, std::string("KVM_GET_CPUID2: ") + strerror(errno));
    }
    memcpy(&header, buf.data(), sizeof header);
    std::vector<kvm_cpuid_entry2> entries(header.nent);
    memcpy(entries.data(), buf.data() + sizeof header, header.nent * sizeof(kvm_cpuid_entry2));
    return entries;
}

Status RestoreVcpuCpuid(int vcpu_fd, const std::vector<kvm_cpuid_entry2>& entries) {
    HVKIT_ASSIGN_OR_RETURN(std::vector<kvm_cpuid_entry2> here, GetVcpuCpuid(vcpu_fd));
    std::string difference = here.size() == entries.size()
                                 ? ""
                                 : std::to_string(here.size()) + " leaves here, " +
                                       std::to_string(entries.size()) + " in the state";
    for (size_t i = 0; difference.empty() && i < here.size(); ++i) {
        difference = Difference(here[i], entries[i]);
    }
    // The same CPUID: KVM before Linux 6.2 would refuse to set it again
    // after KVM_RUN when only the runtime bits differ.
    if (difference.empty()) return Status::Ok();
    Status set = SetVcpuCpuid(vcpu_fd, entries);
    if (!set.ok()) return set.WithContext("the vCPU's CPUID differs (" + difference + ")");
    return Status::Ok();
}

}  // namespace hvkit::hvmm
