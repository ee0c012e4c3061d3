// Boot values of the model-specific registers a fresh vCPU needs.
#include <sys/ioctl.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "arch/x86_64/arch.h"
#include "hvmm.h"
#include "vstate/kvm_abi.h"

namespace hvkit::hvmm {

namespace {

struct BootMsr {
    uint32_t index;
    uint64_t value;
};

constexpr BootMsr kBootMsrs[] = {
    {0x174, 0},                 // IA32_SYSENTER_CS
    {0x175, 0},                 // IA32_SYSENTER_ESP
    {0x176, 0},                 // IA32_SYSENTER_EIP
    {0xc0000081, 0},            // STAR
    {0xc0000082, 0},            // LSTAR
    {0xc0000083, 0},            // CSTAR
    {0xc0000084, 0},            // SYSCALL_MASK
    {0xc0000102, 0},            // KERNEL_GS_BASE
    {0x10, 0},                  // IA32_TSC
    {0x1a0, 1},                 // IA32_MISC_ENABLE: fast strings
    {0x2ff, (1u << 11) | 0x6},  // MTRRdefType: MTRRs on, default write-back
};

}  // namespace

std::vector<kvm_msr_entry> BootMsrs(const std::vector<uint32_t>& supported) {
    std::vector<kvm_msr_entry> out;
    for (const BootMsr& m : kBootMsrs) {
        if (std::find(supported.begin(), supported.end(), m.index) == supported.end()) continue;
        kvm_msr_entry e{};
        e.index = m.index;
        e.data = m.value;
        out.push_back(e);
    }
    return out;
}

Status SetMsrs(int vcpu_fd, const std::vector<kvm_msr_entry>& msrs) {
    if (msrs.empty()) return Status::Ok();
    KvmMsrsHeader header{static_cast<uint32_t>(msrs.size()), 0};
    std::vector<uint8_t> buf(sizeof header + msrs.size() * sizeof(kvm_msr_entry));
    memcpy(buf.data(), &header, sizeof header);
    memcpy(buf.data() + sizeof header, msrs.data(), msrs.size() * sizeof(kvm_msr_entry));
    int set = ioctl(vcpu_fd, kKvmSetMsrs, buf.data());
    if (set < 0) return Error(ErrorCode::kIo, std::string("KVM_SET_MSRS: ") + strerror(errno));
    if (static_cast<size_t>(set) < msrs.size()) {
        char name[16];
        snprintf(name, sizeof name, "0x%x", msrs[set].index);
        return Error(ErrorCode::kConflict,
                     std::string("KVM refused boot value of MSR ") + name + " (KVM_SET_MSRS)");
    }
    return Status::Ok();
}

}  // namespace hvkit::hvmm
