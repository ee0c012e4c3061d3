// vCPUs: creation with their CPUID and MSRs, and the KVM_RUN loop that turns
// exits into bus accesses or stop requests.
#include <pthread.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include <cerrno>
#include <cstring>
#include <mutex>

#include "arch/x86_64/arch.h"
#include "hvmm.h"

namespace hvkit::hvmm {

namespace {

Status IoctlError(const std::string& what) {
    return Error(ErrorCode::kIo, what + ": " + strerror(errno));
}

// The signal that kicks a vCPU thread out of KVM_RUN. Its handler does
// nothing: the point is the EINTR (or immediate_exit) it causes.
int KickSignal() {
    return SIGRTMIN;
}

void InstallKickHandler() {
    static std::once_flag once;
    std::call_once(once, [] {
        struct sigaction sa {};
        sa.sa_handler = [](int) {};
        sigemptyset(&sa.sa_mask);
        sa.sa_flags = 0;  // no SA_RESTART: KVM_RUN must return EINTR
        sigaction(KickSignal(), &sa, nullptr);
    });
}

std::string Hex(uint64_t v) {
    char buf[24];
    snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(v));
    return buf;
}

}  // namespace

Result<std::unique_ptr<Vcpu>> Vcpu::Create(const Kvm& kvm, Vm& vm, uint32_t index, uint32_t count) {
    InstallKickHandler();
    std::unique_ptr<Vcpu> vcpu(new Vcpu());
    vcpu->index_ = index;
    std::string name = "vCPU " + std::to_string(index);
    int fd = ioctl(vm.fd(), KVM_CREATE_VCPU, static_cast<unsigned long>(index));
    if (fd < 0) return IoctlError("KVM_CREATE_VCPU for " + name);
    vcpu->fd_ = UniqueFd(fd);
    vcpu->run_size_ = static_cast<size_t>(kvm.vcpu_mmap_size());
    void* run = mmap(nullptr, vcpu->run_size_, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (run == MAP_FAILED) return IoctlError("mapping kvm_run of " + name);
    vcpu->run_ = static_cast<kvm_run*>(run);

    HVKIT_ASSIGN_OR_RETURN(std::vector<kvm_cpuid_entry2> supported, kvm.SupportedCpuid());
    HVKIT_RETURN_IF_ERROR(
        SetVcpuCpuid(fd, BuildVcpuCpuid(supported, index, count)).WithContext(name));
    HVKIT_ASSIGN_OR_RETURN(std::vector<uint32_t> msr_list, kvm.MsrIndexList());
    HVKIT_RETURN_IF_ERROR(SetMsrs(fd, BootMsrs(msr_list)).WithContext(name));
    HVKIT_RETURN_IF_ERROR(ConfigureLapic(fd).WithContext(name));
    HVKIT_RETURN_IF_ERROR(ConfigureFpu(fd).WithContext(name));
    return vcpu;
}

Vcpu::~Vcpu() {
    if (run_ != nullptr) munmap(run_, run_size_);
}

void Vcpu::Kick(pthread_t thread) {
    __atomic_store_n(&run_->immediate_exit, 1, __ATOMIC_SEQ_CST);
    pthread_kill(thread, KickSignal());
}

void Vcpu::RunLoop(const Bus& pio, const Bus& mmio, VmControl& control, RunGate& gate) {
    // A caller may have blocked signals before starting this thread; the kick must get through.
    sigset_t kick;
    sigemptyset(&kick);
    sigaddset(&kick, KickSignal());
    pthread_sigmask(SIG_UNBLOCK, &kick, nullptr);
    while (!control.stop_requested()) {
        // A closed gate: enter KVM_RUN only to let the kernel finish the exit
        // in flight (immediate_exit runs no guest instruction), then park.
        if (gate.closed()) __atomic_store_n(&run_->immediate_exit, 1, __ATOMIC_SEQ_CST);
        if (ioctl(fd_.get(), KVM_RUN, 0) != 0) {
            if (errno == EINTR || errno == EAGAIN) {
                // Cleared before the gate is checked: a Pause() whose close
                // this check misses kicks after it, so its immediate_exit
                // stands for the next KVM_RUN.
                __atomic_store_n(&run_->immediate_exit, 0, __ATOMIC_SEQ_CST);
                gate.ParkWhileClosed();
                continue;
            }
            control.RequestStop(StopReason::kError,
                                "vCPU " + std::to_string(index_) + ": KVM_RUN: " + strerror(errno));
            return;
        }
        if (!HandleExit(pio, mmio, control)) return;
    }
}

bool Vcpu::HandleExit(const Bus& pio, const Bus& mmio, VmControl& control) {
    std::string who = "vCPU " + std::to_string(index_);
    switch (run_->exit_reason) {
        case KVM_EXIT_IO: {
            // kvm_run is shared with the kernel, which sets these fields; still
            // check that the data lies inside the mapping before touching it.
            uint64_t size = run_->io.size;
            uint64_t bytes = size * run_->io.count;
            uint64_t off = run_->io.data_offset;
            if (size == 0 || size > 4 || bytes > run_size_ || off > run_size_ - bytes) {
                control.RequestStop(StopReason::kError, who + ": port I/O exit out of bounds");
                return false;
            }
            auto* base = reinterpret_cast<uint8_t*>(run_) + off;
            for (uint32_t i = 0; i < run_->io.count; ++i) {
                std::span<uint8_t> item(base + i * size, size);
                if (run_->io.direction == KVM_EXIT_IO_OUT) {
                    pio.Write(run_->io.port, item);
                } else {
                    pio.Read(run_->io.port, item);  // unclaimed ports read all-ones
                }
            }
            return true;
        }
        case KVM_EXIT_MMIO: {
            uint32_t len = run_->mmio.len;
            if (len == 0 || len > sizeof run_->mmio.data) {
                control.RequestStop(StopReason::kError, who + ": MMIO exit of bad length");
                return false;
            }
            std::span<uint8_t> data(run_->mmio.data, len);
            if (run_->mmio.is_write) {
                mmio.Write(run_->mmio.phys_addr, data);
            } else {
                mmio.Read(run_->mmio.phys_addr, data);
            }
            return true;
        }
        case KVM_EXIT_INTR:
        case KVM_EXIT_IRQ_WINDOW_OPEN:
            return true;
        case KVM_EXIT_HLT:
            // Only without an in-kernel LAPIC; hvmm always has one.
            control.RequestStop(StopReason::kGuestShutdown, who + " halted");
            return false;
        case KVM_EXIT_SHUTDOWN:
            // The state at the fault says where it happened (early boot,
            // the decompressor, a kernel stack) for a report.
            control.RequestStop(StopReason::kGuestTripleFault,
                                who + " triple-faulted (the CPU reset itself; " +
                                    DescribeVcpuState(fd_.get()) + ")");
            return false;
        case KVM_EXIT_SYSTEM_EVENT:
            switch (run_->system_event.type) {
                case KVM_SYSTEM_EVENT_RESET:
                    control.RequestStop(StopReason::kGuestReset, who + ": system reset");
                    break;
                case KVM_SYSTEM_EVENT_CRASH:
                    control.RequestStop(StopReason::kGuestCrash, who + ": guest crash event");
                    break;
                default:
                    control.RequestStop(StopReason::kGuestShutdown, who + ": system shutdown");
                    break;
            }
            return false;
        case KVM_EXIT_FAIL_ENTRY:
            control.RequestStop(StopReason::kError,
                                who + ": KVM could not enter the guest (hardware reason " +
                                    Hex(run_->fail_entry.hardware_entry_failure_reason) + ")");
            return false;
        case KVM_EXIT_INTERNAL_ERROR:
            control.RequestStop(StopReason::kError,
                                who + ": KVM internal error, suberror " +
                                    std::to_string(run_->internal.suberror) +
                                    (run_->internal.suberror == KVM_INTERNAL_ERROR_EMULATION
                                         ? " (instruction emulation failed)"
                                         : ""));
            return false;
        default:
            control.RequestStop(StopReason::kError, who + ": unhandled KVM exit reason " +
                                                        std::to_string(run_->exit_reason));
            return false;
    }
}

}  // namespace hvkit::hvmm
