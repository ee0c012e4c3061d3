// hvmm's map: every type and function its parts share, each with its contract.
// Read this file to know the rooms (Solo5 hvt's hvt.h habit); the .cc files
// named in each section hold the how. Folders with a map of their own say so.
//
//   arch/x86_64/  machine facts: layout.h (every GPA), arch.h (the functions,
//                 one .cc each: e820, gdt, regs, cpuid, msr, lapic, mptable)
//   vstate/       KVM objects: kvm and kvm_backend (/dev/kvm and what backs
//                 it), kvm_abi.h, memfd, guest_memory, vm, vcpu, vcpu_state,
//                 control (why and when the VM stops), run_gate (where vCPUs
//                 park while paused)
//   devices/      bus, state (saved-state helpers), the device table
//                 (table.cc) and each row's config (configs.h); serial (8250)
//                 and i8042, each with its header and its row
//   pci/          bus 0: root complex, config space, MSI-X, host bridge, the
//                 "pci" row (its own map: pci/pci.h)
//   virtio/       virtio 1.x over PCI: transport, split virtqueue, virtio-blk
//                 and virtio-net with their rows (its own map: virtio/virtio.h)
//   hvchan/       the hypercall channel: BAR2 memory, the call table, the
//                 update calls, the device and its row (own map: hvchan/hvchan.h)
//   hvfilt/       the filter-ring device: region BAR, doorbell ioeventfd,
//                 INTx irqfd, its row (its own map: hvfilt/hvfilt.h)
//   update/       the host's release store and the update service behind
//                 hvchan's update calls (release_store.h, update_service.h)
//   boot/         bzImage parsing and Linux 64-bit boot protocol; flat
//                 real-mode payloads
//   control/      the host's side: the control socket and serial input
//                 (own header, control/control.h; it uses Machine's public API)
//   takeover/     live takeover: the handover socket, spawning the
//                 successor, the old and the new process's steps (own map:
//                 takeover/takeover.h; docs/live-takeover.md)
//   host_side.h   what runs beside the vCPUs for the host (control server,
//                 serial input) and what of it a takeover hands over
//   builder.cc    composes a Machine from a MachineConfig; machine.cc,
//                 machine_state.cc run it and carry its state
//   run_options.cc  `hvmm run`'s options and usage, from the device rows;
//                 memory_size.cc, version.cc; main.cc is the CLI
//
// Guest input is hostile: the only way to touch guest RAM is
// GuestMemory::Slice(), which refuses ranges outside RAM and overflowing
// gpa + len; devices see offsets within their own range, never raw GPAs.
#pragma once

#include <linux/kvm.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "devices/configs.h"
#include "hvkit/cli_args.h"
#include "hvkit/fs.h"
#include "hvkit/json.h"
#include "hvkit/status.h"

namespace hvkit::hvmm {

// ============================================================================
// version.cc — which hvmm this is
// ============================================================================

// "0.1.0", and major << 16 | minor << 8 | patch.
const char* HvmmVersion();
uint32_t HvmmVersionNumber();

// CLOCK_MONOTONIC in nanoseconds (machine.cc): one clock for every process
// on the host, so a takeover's predecessor's times mean the same to its
// successor.
int64_t MonotonicNs();

// ============================================================================
// vstate/memfd.cc — shared memory that outlives a process image
// ============================================================================

// (size) bytes of zeroed memory in a memfd named (name), mapped shared. Guest
// RAM and hvchan's shared BAR live in these, so a successor hvmm can map the
// same pages from the fd. With (seal_size) the memfd is sealed against
// shrinking and growing (F_SEAL_SHRINK | F_SEAL_GROW), for memory handed to
// another process that maps it and must not be made to fault (SIGBUS).
class MemfdMapping {
  public:
    static Result<MemfdMapping> Create(std::string_view name, uint64_t size,
                                       bool seal_size = false);
    // Maps (fd), a memfd another hvmm created (live takeover), which must hold
    // exactly (size) bytes; errors name (name).
    static Result<MemfdMapping> Adopt(UniqueFd fd, std::string_view name, uint64_t size);
    MemfdMapping() = default;
    MemfdMapping(MemfdMapping&& other) noexcept;
    MemfdMapping& operator=(MemfdMapping&& other) noexcept;
    ~MemfdMapping();

    uint8_t* data() const { return data_; }
    uint64_t size() const { return size_; }
    int fd() const { return fd_.get(); }

  private:
    UniqueFd fd_;
    uint8_t* data_ = nullptr;
    uint64_t size_ = 0;
};

// ============================================================================
// vstate/guest_memory.cc — guest RAM
// ============================================================================

// A contiguous piece of guest-physical RAM and where it lives in the memfd.
struct MemoryRegion {
    uint64_t gpa = 0;
    uint64_t size = 0;
    uint64_t memfd_offset = 0;
    uint8_t* host = nullptr;  // mapping of [memfd_offset, memfd_offset + size)
};

// Guest RAM in one memfd (so a successor process can map the same pages),
// split around the MMIO gap as layout.h says.
class GuestMemory {
  public:
    // Creates (size) bytes of zeroed RAM, named (name) in /proc/PID/fd. Size must
    // be a non-zero multiple of 4 KiB; RAM past kMmioGapStart is placed at
    // kHighRamStart.
    static Result<std::unique_ptr<GuestMemory>> Create(uint64_t size,
                                                       std::string_view name = "hvmm-ram");
    // The same layout over (fd), the RAM memfd of the hvmm this one takes
    // over from, whose contents stay as they are.
    static Result<std::unique_ptr<GuestMemory>> Adopt(UniqueFd fd, uint64_t size);
    ~GuestMemory();
    GuestMemory(const GuestMemory&) = delete;
    GuestMemory& operator=(const GuestMemory&) = delete;

    // The one gate into guest memory: the host bytes of [gpa, gpa + len), or
    // kRefused when any byte is outside a single RAM region or gpa + len
    // overflows. An empty range (len 0) touches nothing: allowed where gpa
    // is inside a region or at its end (the rule HvchanMemory::Slice keeps).
    Result<std::span<uint8_t>> Slice(uint64_t gpa, uint64_t len);
    Result<std::span<const uint8_t>> Slice(uint64_t gpa, uint64_t len) const;

    // Copies (bytes) to (gpa) / (out.size()) bytes from (gpa) through Slice().
    Status Write(uint64_t gpa, std::span<const uint8_t> bytes);
    Status Read(uint64_t gpa, std::span<uint8_t> out) const;

    const std::vector<MemoryRegion>& regions() const { return regions_; }
    uint64_t size() const { return size_; }
    // End of RAM below the MMIO gap (exclusive).
    uint64_t low_ram_end() const;
    // The memfd behind guest RAM (a successor maps it).
    int memfd() const { return ram_.fd(); }

  private:
    GuestMemory() = default;
    // Cuts ram_ into regions around the MMIO gap (layout.h).
    void Lay();
    MemfdMapping ram_;
    uint64_t size_ = 0;
    std::vector<MemoryRegion> regions_;
};

// ============================================================================
// vstate/kvm.cc, vstate/kvm_backend.cc — /dev/kvm and what backs it
// ============================================================================

// What this machine's /dev/kvm runs on, as far as the host can tell.
enum class KvmBackend {
    kHardware,  // VMX or SVM: runs unmodified guests
    kPvm,       // the kvm_pvm module: needs a PVM-aware guest kernel
    kSoftware,  // no VMX/SVM on the host CPU and no known module: treat like PVM
};

// Host facts the backend is decided from (sysfs modules, host CPUID).
struct KvmHostFacts {
    bool module_kvm_pvm = false;
    bool module_kvm_intel = false;
    bool module_kvm_amd = false;
    bool cpu_vmx = false;
    bool cpu_svm = false;
};

// Reads /sys/module/kvm_{pvm,intel,amd} and the host CPUID VMX/SVM bits.
KvmHostFacts ProbeKvmHostFacts();

// Decides the backend from (facts): kvm_pvm wins; else VMX/SVM or a hardware
// module means hardware; else software.
KvmBackend ClassifyKvmBackend(const KvmHostFacts& facts);

// One line for people: the backend and the evidence it was decided from.
std::string DescribeKvmBackend(KvmBackend backend, const KvmHostFacts& facts);

// An open /dev/kvm (system ioctls).
class Kvm {
  public:
    // Opens (path) and checks the API version and the capabilities hvmm needs
    // (user memory, irqchip, PIT2, immediate exit); errors say what to do.
    static Result<std::unique_ptr<Kvm>> Open(const std::string& path = "/dev/kvm");

    int fd() const { return fd_.get(); }
    int vcpu_mmap_size() const { return vcpu_mmap_size_; }
    int max_vcpus() const { return max_vcpus_; }
    // KVM_GET_SUPPORTED_CPUID, plus the TSC-deadline timer bit when KVM
    // emulates it (KVM_CAP_TSC_DEADLINE_TIMER).
    Result<std::vector<kvm_cpuid_entry2>> SupportedCpuid() const;
    // KVM_GET_MSR_INDEX_LIST: MSRs KVM saves and restores for a vCPU.
    Result<std::vector<uint32_t>> MsrIndexList() const;

  private:
    UniqueFd fd_;
    int vcpu_mmap_size_ = 0;
    int max_vcpus_ = 1;
};

// ============================================================================
// vstate/control.cc — why and when the VM stops
// ============================================================================

enum class StopReason {
    kNone,
    kGuestReset,        // i8042 reset line or KVM_SYSTEM_EVENT_RESET: clean
    kGuestShutdown,     // KVM_SYSTEM_EVENT_SHUTDOWN: clean
    kGuestTripleFault,  // KVM_EXIT_SHUTDOWN: the CPU reset itself
    kGuestCrash,        // KVM_SYSTEM_EVENT_CRASH
    kHostRequest,       // SIGINT/SIGTERM or a caller's request
    kHandedOver,        // live takeover: a successor hvmm runs the guest now
    kError,             // KVM or hvmm failed; detail says how
};

const char* StopReasonName(StopReason reason);

// The VM's stop latch, shared by vCPU threads, devices and the main thread.
// The first request wins; later ones are ignored.
class VmControl {
  public:
    VmControl();
    // Records (reason, detail) unless a stop was already requested, and wakes
    // waiters and the eventfd.
    void RequestStop(StopReason reason, std::string detail);
    bool stop_requested() const { return reason_.load() != StopReason::kNone; }
    StopReason reason() const { return reason_.load(); }
    std::string detail() const;
    // Readable once a stop was requested (for poll()).
    int eventfd() const { return eventfd_.get(); }

  private:
    std::atomic<StopReason> reason_{StopReason::kNone};
    mutable std::mutex mu_;
    std::string detail_;
    UniqueFd eventfd_;
};

// ============================================================================
// vstate/run_gate.cc — where vCPUs wait while the machine is paused
// ============================================================================

// The gate vCPU threads pass between KVM_RUN calls. While it is closed they
// park on it (a condition variable) instead of entering the guest; Machine
// closes it, kicks every vCPU and waits until all of them are parked, which
// is what Machine::Pause() promises. Stopping() releases every parked thread
// (and every WaitParked caller) for good, so a stop request while paused
// still stops the machine. Thread-safe.
class RunGate {
  public:
    // (vcpus) threads are about to run; called before they start.
    void Start(size_t vcpus);
    // A vCPU thread left its run loop for good (the machine is stopping).
    void Left();
    // The machine is stopping: parked threads return and nobody parks again.
    void Stopping();
    // Close: vCPUs park at their next pass. Open: parked vCPUs run again.
    // Both are idempotent.
    void Close();
    void Open();
    bool closed() const;
    // Waits until every running vCPU but (excluding) is parked. True when the
    // gate is closed and they are; false when it was opened or the machine
    // began stopping first.
    bool WaitParked(size_t excluding = 0);
    // The vCPU side: returns at once when the gate is open or the machine is
    // stopping; otherwise counts the caller as parked and blocks until either.
    void ParkWhileClosed();
    // The vCPU side: this thread began its run loop.
    void Entered();
    // Waits until every vCPU thread of Start() entered its run loop and none
    // is parked: the guest runs. False when the gate closed or the machine
    // began stopping first.
    bool WaitRunning();

  private:
    mutable std::mutex mu_;
    std::condition_variable changed_;
    bool closed_ = false;
    bool stopping_ = false;
    size_t active_ = 0;
    size_t entered_ = 0;
    size_t parked_ = 0;
};

// ============================================================================
// devices/bus.cc — devices and the buses that route to them
// ============================================================================

// An interrupt line a device drives (level: true asserted).
class IrqLine {
  public:
    virtual ~IrqLine() = default;
    // Sets the line to (level). Edge-triggered ISA consumers see the rising edge.
    virtual void Set(bool level) = 0;
};

// One host fd a machine shares with its successor (live takeover), by name.
struct SharedFd {
    std::string name;
    int fd = -1;  // borrowed: still the owner's
};

// vstate/handover_fds.cc — the fds a successor hvmm received, by name. A
// machine built for adoption takes each resource from here instead of
// opening or creating it, so the disk's lock, the TAP's queue, device memory
// and pending eventfd counts carry over unchanged.
class HandoverFds {
  public:
    // Adds (fd) as (name); a second fd of the same name is kMalformed.
    Status Add(std::string name, UniqueFd fd);
    // Removes and returns the fd named (name); kMalformed naming it when the
    // predecessor sent none.
    Result<UniqueFd> Take(std::string_view name);
    // The names nobody took, in order (a machine that differs from the one
    // that sent them).
    std::vector<std::string> Untaken() const;
    size_t size() const { return fds_.size(); }

  private:
    std::vector<std::pair<std::string, UniqueFd>> fds_;
};

// Anything in the machine with guest-visible state: what save, restore and
// reset walk. Names are unique within a machine.
class DeviceState {
  public:
    virtual ~DeviceState() = default;
    virtual std::string_view name() const = 0;
    // The device's whole guest-visible state, as a versioned JSON object.
    virtual Json Save() const = 0;
    // Replaces the state with (state) from Save(); every field is checked, and
    // on error the device is left as it was.
    virtual Status Restore(const Json& state) = 0;
    // Called on every device once all of them were restored: for state that
    // depends on other devices' (the PCI root decodes the functions' BARs).
    virtual Status Restored() { return Status::Ok(); }
    // Back to power-on state.
    virtual void Reset() = 0;
    // Stops the device's own threads; called once by ~Machine while guest
    // memory and the VM still exist (virtio-net's receiver uses both).
    virtual void Shutdown() {}

    // Live takeover (docs/live-takeover.md). The host resources a successor
    // hvmm must take over rather than open again (a disk with its lock, a
    // TAP, device memory, eventfds), each under a name unique in the
    // machine ("virtio-net.tap"); the fds stay this device's.
    virtual void ShareFds(std::vector<SharedFd>& out) const { (void)out; }
    // Why this device's state cannot be handed over now (an update transfer
    // in flight), or Ok.
    virtual Status CanHandOver() const { return Status::Ok(); }
    // While the vCPUs are paused: stops everything that would change guest-
    // visible state or consume a host resource besides the vCPUs (virtio-
    // net's receiver, hvfilt's interrupt irqfd), so Save() stays true and
    // the successor finds the host's input still queued. Unquiesce() undoes
    // it (a failed takeover, or the successor's start). Both idempotent.
    // Only while paused: quiescing a running guest (to keep KVM's irqfd
    // teardown, an SRCU grace period, out of the blackout) was tried, and
    // guests resumed after it triple-faulted in the test host
    // (docs/live-takeover.md, "Measured").
    virtual void Quiesce() {}
    virtual void Unquiesce() {}
};

// A device on the port-I/O or MMIO bus. Accesses come from vCPU threads, so a
// device locks its own state. Offsets are relative to the device's base and
// already checked to lie inside its range; values are guest-controlled.
class Device : public DeviceState {
  public:
    // Guest read of (data.size()) bytes at (offset); the device fills (data).
    virtual void Read(uint64_t offset, std::span<uint8_t> data) = 0;
    // Guest write of (data) at (offset).
    virtual void Write(uint64_t offset, std::span<const uint8_t> data) = 0;
};

// devices/state.cc — reading and writing saved device state. Saved state
// crosses a process boundary (live upgrade), so Restore() checks it like input.
// (state)'s "version" must equal (version); errors name (device).
Status CheckStateVersion(const Json& state, int64_t version, std::string_view device);
// Integer member (key) of (state), which must lie in 0..255.
Result<uint8_t> StateByte(const Json& state, std::string_view key, std::string_view device);
// Boolean member (key) of (state).
Result<bool> StateBool(const Json& state, std::string_view key, std::string_view device);
// Array member (key) of (state) of at most (max) bytes (integers 0..255).
Result<std::vector<uint8_t>> StateBytes(const Json& state, std::string_view key, size_t max,
                                        std::string_view device);
// (bytes) as a JSON array of integers.
Json BytesToJson(std::span<const uint8_t> bytes);

// Address ranges -> devices. Filled while the machine is built, read-only
// while vCPUs run, so lookups take no lock.
class Bus {
  public:
    explicit Bus(std::string name) : name_(std::move(name)) {}
    // Routes [base, base + size) to (device); refuses size 0, overflow and
    // overlap with a range already inserted.
    Status Insert(uint64_t base, uint64_t size, std::shared_ptr<Device> device);
    // Dispatches an access of (data.size()) bytes at (addr). False when no
    // single device covers the whole access; a read then returns all-ones.
    bool Read(uint64_t addr, std::span<uint8_t> data) const;
    bool Write(uint64_t addr, std::span<const uint8_t> data) const;

  private:
    struct Range {
        uint64_t size;
        std::shared_ptr<Device> device;
    };
    // The range containing [addr, addr + len), or nullptr.
    const std::pair<const uint64_t, Range>* Find(uint64_t addr, uint64_t len) const;
    std::string name_;
    std::map<uint64_t, Range> ranges_;  // by base
};

// ============================================================================
// vstate/vm.cc — the VM and its in-kernel interrupt controllers
// ============================================================================

class Vm {
  public:
    // KVM_CREATE_VM with the TSS and identity-map pages placed per layout.h,
    // an in-kernel PIC + IOAPIC + LAPICs (KVM_CREATE_IRQCHIP) and PIT
    // (KVM_CREATE_PIT2).
    static Result<std::unique_ptr<Vm>> Create(const Kvm& kvm);
    // One KVM memory slot per region of (memory).
    Status MapMemory(const GuestMemory& memory);
    // KVM_IRQ_LINE: drives GSI (irq) of the in-kernel PIC/IOAPIC to (level).
    Status SetIrqLine(uint32_t irq, bool level);
    // An IrqLine for GSI (irq) that devices can hold.
    std::shared_ptr<IrqLine> MakeIrqLine(uint32_t irq);
    // KVM_SIGNAL_MSI: delivers the message (data) to (address) as a PCI
    // device's MSI write would. A message the guest masked or that no LAPIC
    // accepts is not an error (KVM returns 0).
    Status SignalMsi(uint64_t address, uint32_t data);
    // Maps (size) bytes at (host) as guest RAM at (gpa) in memory slot (slot)
    // (>= kDeviceMemorySlotBase), or removes the slot when (size) is 0. Device
    // memory (hvchan's shared BAR) moves with its BAR this way.
    Status SetDeviceMemory(uint32_t slot, uint64_t gpa, uint64_t size, void* host);
    static constexpr uint32_t kDeviceMemorySlotBase = 16;
    // KVM_IOEVENTFD: with (assign), a guest write of (len) bytes at MMIO
    // (gpa), any value, signals eventfd (fd) in the kernel and never exits to
    // hvmm; without it, removes that registration.
    Status SetIoeventfd(int fd, uint64_t gpa, uint32_t len, bool assign);
    // KVM_IRQFD: with (assign), writing eventfd (fd) asserts GSI (gsi) until
    // the guest EOIs it, when KVM deasserts it and signals (resample_fd)
    // (KVM_IRQFD_FLAG_RESAMPLE); a count already in (fd) is delivered at once.
    // Without (assign), removes it and deasserts the line.
    Status SetIrqfd(int fd, uint32_t gsi, int resample_fd, bool assign);
    int fd() const { return fd_.get(); }

  private:
    UniqueFd fd_;
};

// ============================================================================
// arch/x86_64/ — machine facts
// ============================================================================

// Their functions (e820, the boot GDT, long/real mode registers, CPUID, boot
// MSRs, the LAPIC's LINT pins, the MP table) are declared, each with its
// contract, in arch/x86_64/arch.h; every guest-physical address they use is
// in arch/x86_64/layout.h. The builder and the vCPU code include them.

// ============================================================================
// boot/bzimage.cc, boot/linux.cc, boot/payload.cc — what the vCPUs start in
// ============================================================================

// The setup header fields hvmm uses, read from a bzImage and checked.
struct BzImage {
    uint16_t protocol = 0;    // e.g. 0x020f for 2.15
    uint8_t setup_sects = 0;  // 512-byte sectors of real-mode setup after the boot sector
    uint8_t loadflags = 0;
    uint16_t xloadflags = 0;
    uint32_t initrd_addr_max = 0;  // highest address the initrd's last byte may have
    uint32_t kernel_alignment = 0;
    bool relocatable = false;
    uint32_t cmdline_size = 0;  // max command line length, excluding the NUL
    uint64_t pref_address = 0;
    uint32_t init_size = 0;                 // memory the kernel needs from its load address
    std::span<const uint8_t> setup_header;  // bytes [0x1f1, end of header) of the file
    std::span<const uint8_t> kernel;        // the protected-mode kernel
};

// Parses (file), named (what) in errors, as a bzImage bootable through the
// 64-bit boot protocol: boot flag, "HdrS", protocol >= 2.12, XLF_KERNEL_64,
// LOADED_HIGH, and sizes consistent with the file. Spans point into (file).
Result<BzImage> ParseBzImage(std::span<const uint8_t> file, std::string_view what);

// Where a loaded Linux starts.
struct LinuxEntry {
    uint64_t kernel_gpa = 0;
    uint64_t entry_gpa = 0;  // kernel_gpa + 0x200 (startup_64)
    uint64_t boot_params_gpa = 0;
    uint64_t initrd_gpa = 0;
    uint64_t initrd_size = 0;
};

// Loads (image) at its preferred address (or the lowest aligned one when it
// is relocatable and that does not fit), (initrd) as high as initrd_addr_max
// and low RAM allow, (cmdline), and boot_params with the e820 map. Errors say
// how much memory was missing.
Result<LinuxEntry> LoadLinux(GuestMemory& memory, const BzImage& image,
                             std::span<const uint8_t> initrd, const std::string& cmdline);

// Copies a flat real-mode image (payload) to kRealModeLoad; refuses an empty
// one or one larger than kRealModeMaxSize.
Status LoadRealModePayload(GuestMemory& memory, std::span<const uint8_t> payload);

// ============================================================================
// devices/table.cc and each device's row — the devices
// ============================================================================

// Where the UART's transmitted bytes go.
using ByteSink = std::function<void(std::span<const uint8_t>)>;

// The two legacy ISA devices, each declared with its contract in its own
// header beside its body:
//   devices/serial.h  Serial8250: COM1, an 8250/16550A UART whose transmitted
//                     bytes go to a ByteSink and whose receive FIFO the host
//                     side feeds (control/serial_input.cc)
//   devices/i8042.h   I8042: the keyboard controller, for Linux's probe and
//                     its reset line (the end of the VM)

struct MachineConfig;
class PciRoot;

// Delivers an MSI message (the address/data pair a device would write).
using MsiSink = std::function<void(uint64_t address, uint32_t data)>;
// Maps device memory into the guest (Vm::SetDeviceMemory's contract).
using DeviceMemoryMapper =
    std::function<Status(uint32_t slot, uint64_t gpa, uint64_t size, void* host)>;

// The VM's in-kernel eventfd wiring (Vm::SetIoeventfd and Vm::SetIrqfd's
// contracts), injectable so devices that use it are tested without KVM.
struct KvmEventfdWiring {
    std::function<Status(int fd, uint64_t gpa, uint32_t len, bool assign)> ioeventfd;
    std::function<Status(int fd, uint32_t gsi, int resample_fd, bool assign)> irqfd;
};

// What device setup needs from the machine being built.
struct DeviceContext {
    const MachineConfig& config;
    Bus& pio;
    Bus& mmio;
    VmControl& control;
    GuestMemory& memory;
    // GSI (irq) as a line devices drive.
    std::function<std::shared_ptr<IrqLine>(uint32_t irq)> irq_line;
    MsiSink signal_msi;
    DeviceMemoryMapper map_device_memory;
    KvmEventfdWiring eventfds;
    ByteSink serial_sink;
    // Every device set up, by name, for save/restore/reset.
    std::vector<std::shared_ptr<DeviceState>>& devices;
    // The PCI root complex, once the "pci" row has set it up; PCI devices
    // attach to it.
    std::shared_ptr<PciRoot> pci;
    // Live takeover: the fds the predecessor handed over, or null for a
    // machine that starts fresh. A device set up for adoption takes its host
    // resources from here (the names it gives in ShareFds) and starts
    // quiesced: the predecessor still runs the guest until the commit.
    HandoverFds* adopted = nullptr;
};

// A device module: creates its device(s) and places them on the buses.
// One `hvmm run` option a device row owns.
struct DeviceOption {
    const char* name;  // "--disk"
    bool takes_value;  // "--disk FILE"; false: a flag ("--hvchan")
};

// A device module, after Solo5's hvt_module_ops: everything the rest of hvmm
// needs to know about one device, in one row defined beside the device. Only
// the table (devices/table.cc) lists the rows; main.cc, the builder and
// MachineConfig know no device by name.
struct DeviceModule {
    const char* name;
    // The `hvmm run` options the row owns; no other row or the machine may
    // own the same name.
    std::span<const DeviceOption> options;
    // Its part of the usage line, one unit kept on one line ("[--disk
    // FILE[,ro]]"), and its help paragraph (lines of at most 72 columns,
    // without indent; RunUsage() indents them). Empty for a row without
    // options.
    const char* synopsis;
    const char* help;
    // Reads the row's options from (args) into its own part of (config).
    // Errors are usage errors that name the option and the rule. Null when
    // the row has no options.
    Status (*parse)(const cli::Args& args, DeviceConfigs& config);
    // Creates the device(s) from ctx.config.devices, places them on the
    // buses and adds them to ctx.devices; nothing when the configuration
    // leaves the device out.
    Status (*setup)(DeviceContext& ctx);
    // The names its devices save their state under (DeviceState::name(), the
    // keys of Machine::SaveDevices()). The builder refuses a device whose name
    // is not declared here, so saved state always maps back to its row.
    std::span<const char* const> saved_state;
};

// Every device a machine gets, in setup order. The builder walks this table,
// `hvmm run` takes its options and usage from it.
std::span<const DeviceModule* const> DeviceTable();

// ============================================================================
// vstate/vcpu.cc — vCPUs and their run loop
// ============================================================================

class Vcpu {
  public:
    // KVM_CREATE_VCPU (index) on (vm) with its kvm_run mapping, CPUID built for
    // (index) of (count) and boot MSRs set.
    static Result<std::unique_ptr<Vcpu>> Create(const Kvm& kvm, Vm& vm, uint32_t index,
                                                uint32_t count);
    ~Vcpu();
    Vcpu(const Vcpu&) = delete;
    Vcpu& operator=(const Vcpu&) = delete;

    int fd() const { return fd_.get(); }
    uint32_t index() const { return index_; }
    // Runs the guest until (control) says stop: port I/O exits go to (pio),
    // MMIO exits to (mmio); resets, shutdowns and failures become stop
    // requests. Returns when stopping. Call on the vCPU's own thread.
    // Between KVM_RUN calls it passes (gate): while the gate is closed the
    // thread parks there. It parks only right after a KVM_RUN that returned
    // EINTR (entered with immediate_exit set when the gate is closed), so the
    // kernel has completed any port I/O or MMIO in flight and the vCPU's
    // state is consistent while parked (the KVM API's rule for saving it).
    void RunLoop(const Bus& pio, const Bus& mmio, VmControl& control, RunGate& gate);
    // Makes a running RunLoop return to check (control) and its gate soon:
    // sets immediate_exit and signals (thread). Safe from any thread; a kick
    // that lands outside KVM_RUN still makes the next KVM_RUN return at once.
    void Kick(pthread_t thread);

  private:
    Vcpu() = default;
    // One exit's handling; false when the loop must stop.
    bool HandleExit(const Bus& pio, const Bus& mmio, VmControl& control);
    UniqueFd fd_;
    kvm_run* run_ = nullptr;
    size_t run_size_ = 0;
    uint32_t index_ = 0;
};

// ============================================================================
// vstate/vcpu_state.cc — KVM state that live upgrade carries
// ============================================================================

// A stopped vCPU's state (the CPUID it was given, registers, special
// registers, XSAVE, XCRs, LAPIC, pending events, MP state, debug registers,
// the MSRs of (msr_indices) KVM can read) as a versioned JSON object. Call
// only while the vCPU is not in KVM_RUN.
Result<Json> SaveVcpuState(int vcpu_fd, const std::vector<uint32_t>& msr_indices);
// Sets what SaveVcpuState saved on (vcpu_fd), a vCPU that has not run, its
// CPUID first (docs/live-takeover.md, "Restore order").
// Every member is parsed and size-checked before the first ioctl; KVM checks
// the contents.
Status RestoreVcpuState(int vcpu_fd, const Json& state);
// The VM's in-kernel devices: both PICs and the IOAPIC, the PIT, kvmclock.
Result<Json> SaveVmState(int vm_fd);
Status RestoreVmState(int vm_fd, const Json& state);

// ============================================================================
// builder.cc, machine.cc, machine_state.cc — composition
// ============================================================================

struct MachineConfig {
    uint64_t memory_bytes = 256ull << 20;
    uint32_t cpus = 1;
    // Linux: a bzImage, an optional initrd, a command line.
    std::vector<uint8_t> kernel;
    std::string kernel_name = "kernel";
    std::vector<uint8_t> initrd;
    std::string cmdline;
    // Or a flat real-mode payload (tests, firmware-less images); then kernel is empty.
    std::vector<uint8_t> real_mode_payload;
    ByteSink serial_sink;  // required
    std::string kvm_path = "/dev/kvm";
    // Each device row's own configuration (devices/configs.h), filled by the
    // rows' parse from `hvmm run`'s options; optional devices are off by
    // default.
    DeviceConfigs devices;
};

// A built VM ready to run.
class Machine {
  public:
    ~Machine();
    // Starts one thread per vCPU and waits until a stop is requested (by the
    // guest, a device, an error, Stop(), or SIGINT/SIGTERM when
    // (handle_host_signals)); joins the threads and returns the reason.
    // A machine paused before Run() starts with its vCPUs parked.
    // (started), if given, runs on the calling thread once the vCPU threads
    // are started (and host signals blocked): a successor serves the host
    // from there, so the guest runs first.
    StopReason Run(bool handle_host_signals = false, const std::function<void()>& started = {});
    // Requests a stop from any thread, (detail) saying who asked. Stops a
    // paused machine too.
    void Stop(std::string detail = "stop requested") {
        control_.RequestStop(StopReason::kHostRequest, std::move(detail));
    }
    // A stop for an error of hvmm's own (exit status 1), (detail) saying what.
    void StopFailed(std::string detail) {
        control_.RequestStop(StopReason::kError, std::move(detail));
    }
    // The stop after a live takeover's commit: a successor runs the guest.
    void StopHandedOver(std::string detail) {
        control_.RequestStop(StopReason::kHandedOver, std::move(detail));
    }
    // Kicks every vCPU out of KVM_RUN and parks its thread until Resume();
    // returns once all vCPUs are parked with consistent state (see
    // Vcpu::RunLoop), so their state can be saved. From any thread, and
    // idempotent; on a vCPU thread (a device handler) it waits for the other
    // vCPUs and the caller parks when its exit is handled. kConflict when the
    // machine stopped (or was resumed) before every vCPU parked.
    Status Pause();
    // Lets parked vCPUs run again; nothing when not paused. From any thread.
    void Resume();
    bool paused() const { return gate_.closed(); }
    // From Run()'s (started): waits until every vCPU runs guest code (none
    // parked); false when paused or stopping meanwhile.
    bool WaitRunning() { return gate_.WaitRunning(); }
    uint32_t vcpu_count() const { return static_cast<uint32_t>(vcpus_.size()); }
    // Device names in setup order.
    std::vector<std::string> DeviceNames() const;
    const VmControl& control() const { return control_; }
    GuestMemory& memory() { return *memory_; }
    Bus& pio() { return pio_; }
    Bus& mmio() { return mmio_; }
    // Device state by device name, and back.
    Json SaveDevices() const;
    Status RestoreDevices(const Json& state);
    // The whole machine's state: {"version", "vm", "vcpus", "devices"}. Only
    // while no vCPU runs (before Run, after it returned, or paused). Guest
    // RAM and device memory are not in it: a successor maps their memfds.
    Result<Json> SaveState() const;
    // Restores SaveState()'s output into a machine built with the same
    // configuration and not yet run. On error the machine must be discarded.
    Status RestoreState(const Json& state);

    // Live takeover (takeover/, docs/live-takeover.md). Guest RAM ("ram")
    // and every device's shared fds, borrowed.
    std::vector<SharedFd> SharedFds() const;
    // Ok when every device can hand its state over now; else the first
    // device's reason.
    Status CanHandOver() const;
    // Every device's Quiesce() / Unquiesce() (DeviceState). Quiesce only
    // while paused; a machine built for adoption starts quiesced, and Run()
    // does not unquiesce it: its owner does, once it owns the guest.
    void Quiesce();
    void Unquiesce();
    // The device named (name), or nullptr.
    std::shared_ptr<DeviceState> FindDevice(std::string_view name) const;

  private:
    friend Result<std::unique_ptr<Machine>> BuildMachine(const MachineConfig& config);
    friend Result<std::unique_ptr<Machine>> AdoptMachine(const MachineConfig& config,
                                                         HandoverFds& adopted);
    // What BuildMachine and AdoptMachine share (builder.cc): KVM, memory
    // (fresh, or (adopted)'s "ram"), the VM, the devices, the vCPUs.
    static Result<std::unique_ptr<Machine>> Compose(const MachineConfig& config,
                                                    HandoverFds* adopted);
    Machine() = default;
    VmControl control_;
    Bus pio_{"port I/O"};
    Bus mmio_{"MMIO"};
    std::unique_ptr<Kvm> kvm_;
    std::unique_ptr<GuestMemory> memory_;
    std::unique_ptr<Vm> vm_;
    std::vector<std::unique_ptr<Vcpu>> vcpus_;
    std::vector<std::shared_ptr<DeviceState>> devices_;
    RunGate gate_;
    // The vCPU threads Pause() may kick: set by Run() while they are joinable.
    std::mutex threads_mu_;
    std::vector<pthread_t> running_;
};

// Composes a Machine from (config): KVM, memory, VM, devices from the device
// table, the boot image, then vCPUs in their boot state (BSP at the entry
// point; APs wait for INIT/SIPI in the in-kernel LAPIC).
Result<std::unique_ptr<Machine>> BuildMachine(const MachineConfig& config);
// For live takeover: the same machine over (adopted)'s fds (guest RAM under
// "ram", each device's host resources), with no boot image and its devices
// quiesced, ready for RestoreState(). Every fd must be taken: one left over
// means the predecessor's machine differs, kMalformed naming it.
Result<std::unique_ptr<Machine>> AdoptMachine(const MachineConfig& config, HandoverFds& adopted);

// "512M", "2G", "1048576K" or plain MiB ("512") -> bytes; refuses garbage,
// overflow and sizes that are not whole pages.
Result<uint64_t> ParseMemorySize(const std::string& text);

// ============================================================================
// run_options.cc — `hvmm run`'s command line, from the machine and the rows
// ============================================================================

// What `hvmm run`'s words say. The boot images are read (and the serial sink
// opened) by main.cc: a missing file is a failure, not a usage error.
struct RunOptions {
    MachineConfig config;     // kernel, initrd and serial_sink still empty
    std::string kernel_path;  // empty with real_mode_path
    std::optional<std::string> real_mode_path;
    std::optional<std::string> initrd_path;
    std::optional<std::string> control_path;
    bool allow_pvm = false;
};

// Parses (argv), the words after `hvmm run`: the machine's own options
// (--kernel, --initrd, --cmdline, --mem, --cpus, --control, --allow-pvm) and
// every option of (rows), each row's through its parse. An unknown option,
// a repeated one, or a value a rule refuses is a usage error naming the
// option and the rule.
Result<RunOptions> ParseRunOptions(const std::vector<std::string>& argv,
                                   std::span<const DeviceModule* const> rows = DeviceTable());

// `hvmm run`'s usage: the synopsis (the machine's options, then each row's
// unit, wrapped) and the help (the machine's paragraph, then each row's).
std::string RunUsage(std::span<const DeviceModule* const> rows = DeviceTable());

}  // namespace hvkit::hvmm
