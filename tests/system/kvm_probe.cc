// hvkit-kvm-probe: can this machine's /dev/kvm run an unmodified guest?
//
// Runs two tiny guests and times them: a 16-bit real-mode loop (where every
// Linux boot starts) and the same loop in 64-bit long mode at CPL 0 (where a
// stock kernel runs). Hardware virtualization runs each in a few
// milliseconds. PVM-backed KVM emulates real mode at about a million
// instructions a second and cannot run 64-bit supervisor code of a kernel
// that is not PVM-aware, so one of the two fails or takes far too long.
//
// Exit status: 0 direct (run scenarios here), 1 not able (use the test host),
// 2 no usable /dev/kvm. One line per step on stdout; the last is the verdict.
// See docs/test-host.md.

#include <fcntl.h>
#include <linux/kvm.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

namespace {

constexpr std::uint64_t kGuestMemSize = 2u << 20;  // one 2 MiB page, identity-mapped
constexpr std::uint64_t kCodeAddr = 0x1000;
constexpr std::uint64_t kPml4Addr = 0x2000, kPdptAddr = 0x3000, kPdAddr = 0x4000;
constexpr std::uint32_t kLoopCount = 2'500'000;  // two instructions per iteration
constexpr int kDeadlineMs = 1000;                // emulation needs ~2 s for the loop
constexpr double kDirectLimitMs = 250.0;         // hardware needs a few ms

// Real mode: mov ecx, N; 1: dec ecx; jnz 1b; out 0x10, al; hlt
const std::vector<std::uint8_t> kRealModeLoop = {0x66,
                                                 0xb9,
                                                 kLoopCount & 0xff,
                                                 (kLoopCount >> 8) & 0xff,
                                                 (kLoopCount >> 16) & 0xff,
                                                 kLoopCount >> 24,
                                                 0x66,
                                                 0x49,
                                                 0x75,
                                                 0xfc,
                                                 0xe6,
                                                 0x10,
                                                 0xf4};
// Long mode: mov ecx, N; 1: dec ecx; jnz 1b; out 0x11, al; hlt
const std::vector<std::uint8_t> kLongModeLoop = {0xb9,
                                                 kLoopCount & 0xff,
                                                 (kLoopCount >> 8) & 0xff,
                                                 (kLoopCount >> 16) & 0xff,
                                                 kLoopCount >> 24,
                                                 0xff,
                                                 0xc9,
                                                 0x75,
                                                 0xfc,
                                                 0xe6,
                                                 0x11,
                                                 0xf4};

class Fd {
  public:
    explicit Fd(int fd = -1) : fd_(fd) {}
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    ~Fd() {
        if (fd_ >= 0) close(fd_);
    }
    int get() const { return fd_; }

  private:
    int fd_;
};

void on_alarm(int) {}  // only there so SIGALRM interrupts KVM_RUN with EINTR

struct StepResult {
    bool ok = false;
    double ms = 0;
    std::string detail;
};

// Runs (code) in a fresh VM with one vCPU whose registers (long_mode) selects:
// real mode at CS:IP 0:kCodeAddr, or 64-bit CPL 0 with the first 2 MiB
// identity-mapped. Succeeds when the vCPU exits on an OUT to (port) within
// the deadline; reports the time KVM_RUN took either way.
StepResult run_guest(int kvm, const std::vector<std::uint8_t>& code, bool long_mode,
                     std::uint16_t port) {
    StepResult r;
    Fd vm(ioctl(kvm, KVM_CREATE_VM, 0));
    if (vm.get() < 0) return {false, 0, std::string("KVM_CREATE_VM: ") + std::strerror(errno)};
    ioctl(vm.get(), KVM_SET_TSS_ADDR, 0xfffbd000UL);  // VMX real mode needs it; harmless elsewhere

    void* mem =
        mmap(nullptr, kGuestMemSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED) return {false, 0, "mmap guest memory failed"};
    auto* bytes = static_cast<std::uint8_t*>(mem);
    std::memcpy(bytes + kCodeAddr, code.data(), code.size());
    kvm_userspace_memory_region region{};
    region.slot = 0;
    region.guest_phys_addr = 0;
    region.memory_size = kGuestMemSize;
    region.userspace_addr = reinterpret_cast<std::uint64_t>(mem);
    if (ioctl(vm.get(), KVM_SET_USER_MEMORY_REGION, &region) < 0) {
        r.detail = std::string("KVM_SET_USER_MEMORY_REGION: ") + std::strerror(errno);
        munmap(mem, kGuestMemSize);
        return r;
    }

    Fd vcpu(ioctl(vm.get(), KVM_CREATE_VCPU, 0));
    int run_size = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
    void* run_map =
        vcpu.get() < 0 || run_size <= 0
            ? MAP_FAILED
            : mmap(nullptr, run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu.get(), 0);
    if (run_map == MAP_FAILED) {
        munmap(mem, kGuestMemSize);
        return {false, 0, std::string("KVM_CREATE_VCPU/mmap: ") + std::strerror(errno)};
    }
    auto* run = static_cast<kvm_run*>(run_map);

    kvm_sregs sregs{};
    kvm_regs regs{};
    bool set_ok = ioctl(vcpu.get(), KVM_GET_SREGS, &sregs) == 0;
    if (long_mode) {
        auto* pml4 = reinterpret_cast<std::uint64_t*>(bytes + kPml4Addr);
        auto* pdpt = reinterpret_cast<std::uint64_t*>(bytes + kPdptAddr);
        auto* pd = reinterpret_cast<std::uint64_t*>(bytes + kPdAddr);
        pml4[0] = kPdptAddr | 0x3;  // present, writable
        pdpt[0] = kPdAddr | 0x3;
        pd[0] = 0x83;  // present, writable, 2 MiB page at 0
        kvm_segment cs{};
        cs.base = 0;
        cs.limit = 0xffffffff;
        cs.selector = 0x8;
        cs.type = 0xb;  // execute/read, accessed
        cs.present = 1;
        cs.s = 1;
        cs.l = 1;
        cs.g = 1;
        kvm_segment ds = cs;
        ds.selector = 0x10;
        ds.type = 0x3;  // read/write, accessed
        ds.l = 0;
        ds.db = 1;
        sregs.cs = cs;
        sregs.ds = sregs.es = sregs.fs = sregs.gs = sregs.ss = ds;
        sregs.cr3 = kPml4Addr;
        sregs.cr4 = 1u << 5;                             // PAE
        sregs.cr0 = (1u << 0) | (1u << 4) | (1u << 31);  // PE, ET, PG
        sregs.efer = (1u << 8) | (1u << 10);             // LME, LMA
    } else {
        sregs.cs.base = 0;
        sregs.cs.selector = 0;
    }
    set_ok = set_ok && ioctl(vcpu.get(), KVM_SET_SREGS, &sregs) == 0;
    regs.rip = kCodeAddr;
    regs.rflags = 0x2;
    set_ok = set_ok && ioctl(vcpu.get(), KVM_SET_REGS, &regs) == 0;
    if (!set_ok) {
        r.detail = std::string("setting registers refused: ") + std::strerror(errno);
    } else {
        itimerval deadline{};
        deadline.it_value.tv_sec = kDeadlineMs / 1000;
        deadline.it_value.tv_usec = (kDeadlineMs % 1000) * 1000;
        auto start = std::chrono::steady_clock::now();
        setitimer(ITIMER_REAL, &deadline, nullptr);
        int rc = ioctl(vcpu.get(), KVM_RUN, 0);
        int err = errno;
        itimerval off{};
        setitimer(ITIMER_REAL, &off, nullptr);
        r.ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
                   .count();
        if (rc < 0 && err == EINTR) {
            r.detail = "still running at the " + std::to_string(kDeadlineMs) + " ms deadline";
        } else if (rc < 0) {
            r.detail = std::string("KVM_RUN: ") + std::strerror(err);
        } else if (run->exit_reason == KVM_EXIT_IO && run->io.port == port) {
            r.ok = r.ms < kDirectLimitMs;
            if (!r.ok) r.detail = "too slow for hardware virtualization";
        } else {
            r.detail = "unexpected exit reason " + std::to_string(run->exit_reason);
        }
    }
    munmap(run_map, run_size);
    munmap(mem, kGuestMemSize);
    return r;
}

}  // namespace

int main() {
    Fd kvm(open("/dev/kvm", O_RDWR | O_CLOEXEC));
    if (kvm.get() < 0) {
        std::printf("kvm-probe: cannot open /dev/kvm: %s\n", std::strerror(errno));
        std::printf("kvm-probe: verdict: no-kvm\n");
        return 2;
    }
    int api = ioctl(kvm.get(), KVM_GET_API_VERSION, 0);
    if (api != KVM_API_VERSION) {
        std::printf("kvm-probe: /dev/kvm API version %d, expected %d\n", api, KVM_API_VERSION);
        std::printf("kvm-probe: verdict: no-kvm\n");
        return 2;
    }
    struct sigaction sa {};
    sa.sa_handler = on_alarm;  // no SA_RESTART: KVM_RUN must return EINTR
    sigaction(SIGALRM, &sa, nullptr);

    bool direct = true;
    struct Step {
        const char* name;
        const std::vector<std::uint8_t>& code;
        bool long_mode;
        std::uint16_t port;
    };
    for (const Step& step : {Step{"real mode", kRealModeLoop, false, 0x10},
                             Step{"long mode", kLongModeLoop, true, 0x11}}) {
        StepResult r = run_guest(kvm.get(), step.code, step.long_mode, step.port);
        std::printf("kvm-probe: %s loop (%u instructions): %.1f ms%s%s\n", step.name,
                    2 * kLoopCount, r.ms, r.detail.empty() ? "" : ": ", r.detail.c_str());
        direct = direct && r.ok;
    }
    std::printf("kvm-probe: verdict: %s\n", direct ? "direct" : "testhost");
    return direct ? 0 : 1;
}
