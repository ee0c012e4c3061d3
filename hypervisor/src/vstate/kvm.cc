// /dev/kvm: open it, check what hvmm relies on, and read the system-wide lists.
#include <fcntl.h>
#include <sys/ioctl.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "hvmm.h"
#include "vstate/kvm_abi.h"

namespace hvkit::hvmm {

namespace {

struct RequiredCap {
    int cap;
    const char* what;
};

constexpr RequiredCap kRequiredCaps[] = {
    {KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY (guest RAM from host memory)"},
    {KVM_CAP_IRQCHIP, "KVM_CAP_IRQCHIP (in-kernel PIC, IOAPIC and LAPIC)"},
    {KVM_CAP_PIT2, "KVM_CAP_PIT2 (in-kernel i8254 timer)"},
    {KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT (stopping vCPUs without races)"},
    {KVM_CAP_SET_TSS_ADDR, "KVM_CAP_SET_TSS_ADDR"},
    {KVM_CAP_EXT_CPUID, "KVM_CAP_EXT_CPUID (KVM_GET_SUPPORTED_CPUID)"},
    {KVM_CAP_SIGNAL_MSI, "KVM_CAP_SIGNAL_MSI (PCI message-signalled interrupts)"},
    {KVM_CAP_IOEVENTFD, "KVM_CAP_IOEVENTFD (doorbells that do not stop a vCPU)"},
    {KVM_CAP_IRQFD, "KVM_CAP_IRQFD (interrupts from an eventfd)"},
};

}  // namespace

Result<std::unique_ptr<Kvm>> Kvm::Open(const std::string& path) {
    auto kvm = std::make_unique<Kvm>();
    kvm->fd_ = UniqueFd(open(path.c_str(), O_RDWR | O_CLOEXEC));
    if (!kvm->fd_.valid()) {
        int err = errno;
        std::string hint = err == ENOENT ? "load kvm_intel or kvm_amd, or run on a host with KVM"
                           : err == EACCES || err == EPERM
                               ? "run as root or add the user to the kvm group"
                               : "check that KVM works on this host";
        return Error(ErrorCode::kIo,
                     "cannot open " + path + ": " + strerror(err) + " (" + hint + ")");
    }
    int api = ioctl(kvm->fd_.get(), KVM_GET_API_VERSION, 0);
    if (api != KVM_API_VERSION) {
        return Error(ErrorCode::kConflict, path + " speaks KVM API " + std::to_string(api) +
                                               ", hvmm needs " + std::to_string(KVM_API_VERSION));
    }
    for (const RequiredCap& c : kRequiredCaps) {
        if (ioctl(kvm->fd_.get(), KVM_CHECK_EXTENSION, c.cap) <= 0) {
            return Error(ErrorCode::kConflict, path + " lacks " + c.what + ", which hvmm needs");
        }
    }
    kvm->vcpu_mmap_size_ = ioctl(kvm->fd_.get(), KVM_GET_VCPU_MMAP_SIZE, 0);
    if (kvm->vcpu_mmap_size_ < static_cast<int>(sizeof(kvm_run))) {
        return Error(ErrorCode::kConflict, path + " reports a vCPU mapping of " +
                                               std::to_string(kvm->vcpu_mmap_size_) + " bytes");
    }
    int max = ioctl(kvm->fd_.get(), KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPUS);
    if (max <= 0) max = ioctl(kvm->fd_.get(), KVM_CHECK_EXTENSION, KVM_CAP_NR_VCPUS);
    kvm->max_vcpus_ = max > 0 ? max : 1;
    return kvm;
}

Result<std::vector<kvm_cpuid_entry2>> Kvm::SupportedCpuid() const {
    // The kernel says E2BIG when the buffer is too small; grow and retry.
    for (uint32_t n = 128; n <= 4096; n *= 2) {
        std::vector<uint8_t> buf(sizeof(KvmCpuidHeader) + n * sizeof(kvm_cpuid_entry2));
        KvmCpuidHeader header{n, 0};
        memcpy(buf.data(), &header, sizeof header);
        if (ioctl(fd_.get(), kKvmGetSupportedCpuid, buf.data()) == 0) {
            memcpy(&header, buf.data(), sizeof header);
            if (header.nent > n) break;
            std::vector<kvm_cpuid_entry2> entries(header.nent);
            memcpy(entries.data(), buf.data() + sizeof header,
                   header.nent * sizeof(kvm_cpuid_entry2));
            // The in-kernel LAPIC emulates the TSC-deadline timer, but KVM
            // leaves advertising it to userspace (KVM API, KVM_GET_SUPPORTED_CPUID).
            if (ioctl(fd_.get(), KVM_CHECK_EXTENSION, KVM_CAP_TSC_DEADLINE_TIMER) > 0) {
                for (auto& e : entries) {
                    if (e.function == 1) e.ecx |= 1u << 24;
                }
            }
            return entries;
        }
        if (errno != E2BIG) {
            return Error(ErrorCode::kIo,
                         std::string("KVM_GET_SUPPORTED_CPUID: ") + strerror(errno));
        }
    }
    return Error(ErrorCode::kTooLarge, "KVM_GET_SUPPORTED_CPUID: more than 4096 entries");
}

Result<std::vector<uint32_t>> Kvm::MsrIndexList() const {
    KvmMsrListHeader probe{0};
    if (ioctl(fd_.get(), kKvmGetMsrIndexList, &probe) != 0 && errno != E2BIG) {
        return Error(ErrorCode::kIo, std::string("KVM_GET_MSR_INDEX_LIST: ") + strerror(errno));
    }
    if (probe.nmsrs > 65536) {
        return Error(ErrorCode::kTooLarge,
                     "KVM_GET_MSR_INDEX_LIST: implausible count " + std::to_string(probe.nmsrs));
    }
    std::vector<uint8_t> buf(sizeof(KvmMsrListHeader) + probe.nmsrs * sizeof(uint32_t));
    KvmMsrListHeader header{probe.nmsrs};
    memcpy(buf.data(), &header, sizeof header);
    if (ioctl(fd_.get(), kKvmGetMsrIndexList, buf.data()) != 0) {
        return Error(ErrorCode::kIo, std::string("KVM_GET_MSR_INDEX_LIST: ") + strerror(errno));
    }
    memcpy(&header, buf.data(), sizeof header);
    std::vector<uint32_t> indices(std::min(header.nmsrs, probe.nmsrs));
    memcpy(indices.data(), buf.data() + sizeof header, indices.size() * sizeof(uint32_t));
    return indices;
}

}  // namespace hvkit::hvmm
