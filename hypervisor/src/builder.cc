// The one place that knows how a machine is put together: KVM, memory, the
// VM, the devices from the device table, the boot image, the vCPUs. The parts
// do not know each other.
#include "arch/x86_64/arch.h"
#include "arch/x86_64/layout.h"
#include "hvmm.h"

namespace hvkit::hvmm {

namespace {

Status CheckConfig(const MachineConfig& config) {
    bool linux = !config.kernel.empty();
    bool payload = !config.real_mode_payload.empty();
    if (linux == payload) {
        return Error(ErrorCode::kInvalidArgument,
                     "a machine boots either a kernel or a real-mode payload");
    }
    if (!config.serial_sink) {
        return Error(ErrorCode::kInvalidArgument, "a machine needs a serial sink");
    }
    if (config.cpus == 0 || config.cpus > layout::kMaxVcpus) {
        return Error(ErrorCode::kInvalidArgument, "--cpus " + std::to_string(config.cpus) +
                                                      ": hvmm runs 1 to " +
                                                      std::to_string(layout::kMaxVcpus) + " vCPUs");
    }
    if (linux && config.memory_bytes < layout::kMinGuestMemory) {
        return Error(ErrorCode::kInvalidArgument,
                     "--mem " + std::to_string(config.memory_bytes >> 20) +
                         " MiB is too little for a Linux guest; give at least " +
                         std::to_string(layout::kMinGuestMemory >> 20) + " MiB");
    }
    if (!linux && !config.initrd.empty()) {
        return Error(ErrorCode::kInvalidArgument, "an initrd needs a kernel");
    }
    return Status::Ok();
}

// The devices (row) added from (first) on save their state under names the
// row declares, so saved state always maps back to its row.
Status CheckSavedStateNames(const DeviceModule& row, size_t first,
                            const std::vector<std::shared_ptr<DeviceState>>& devices) {
    for (size_t i = first; i < devices.size(); ++i) {
        std::string_view name = devices[i]->name();
        bool declared = false;
        for (const char* declared_name : row.saved_state) declared |= name == declared_name;
        if (!declared) {
            return Error(ErrorCode::kConflict,
                         std::string("device ") + row.name +
                             ": set up a device that saves state as '" + std::string(name) +
                             "', which its row does not declare in saved_state");
        }
    }
    return Status::Ok();
}

}  // namespace

// The parts both a fresh machine and an adopted one have: KVM, memory, the
// VM, the devices, the vCPUs (with their CPUID, not yet their boot state).
Result<std::unique_ptr<Machine>> Machine::Compose(const MachineConfig& config,
                                                  HandoverFds* adopted) {
    std::unique_ptr<Machine> m(new Machine());
    HVKIT_ASSIGN_OR_RETURN(m->kvm_, Kvm::Open(config.kvm_path));
    if (config.cpus > static_cast<uint32_t>(m->kvm_->max_vcpus())) {
        return Error(ErrorCode::kInvalidArgument, "--cpus " + std::to_string(config.cpus) +
                                                      ": this KVM allows at most " +
                                                      std::to_string(m->kvm_->max_vcpus()));
    }
    if (adopted != nullptr) {
        HVKIT_ASSIGN_OR_RETURN(UniqueFd ram, adopted->Take("ram"));
        HVKIT_ASSIGN_OR_RETURN(m->memory_, GuestMemory::Adopt(std::move(ram), config.memory_bytes));
    } else {
        HVKIT_ASSIGN_OR_RETURN(m->memory_, GuestMemory::Create(config.memory_bytes));
    }
    HVKIT_ASSIGN_OR_RETURN(m->vm_, Vm::Create(*m->kvm_));
    HVKIT_RETURN_IF_ERROR(m->vm_->MapMemory(*m->memory_));

    Vm* vm = m->vm_.get();
    DeviceContext ctx{
        .config = config,
        .pio = m->pio_,
        .mmio = m->mmio_,
        .control = m->control_,
        .memory = *m->memory_,
        .irq_line = [vm](uint32_t irq) { return vm->MakeIrqLine(irq); },
        // A failed KVM_SIGNAL_MSI means the VM fd is gone; nothing to tell the device.
        .signal_msi = [vm](uint64_t address, uint32_t data) { (void)vm->SignalMsi(address, data); },
        .map_device_memory = [vm](
                                 uint32_t slot, uint64_t gpa, uint64_t size,
                                 void* host) { return vm->SetDeviceMemory(slot, gpa, size, host); },
        .eventfds =
            {
                .ioeventfd = [vm](int fd, uint64_t gpa, uint32_t len,
                                  bool assign) { return vm->SetIoeventfd(fd, gpa, len, assign); },
                .irqfd = [vm](int fd, uint32_t gsi, int resample_fd,
                              bool assign) { return vm->SetIrqfd(fd, gsi, resample_fd, assign); },
            },
        .serial_sink = config.serial_sink,
        .devices = m->devices_,
        .pci = nullptr,
        .adopted = adopted,
    };
    for (const DeviceModule* module : DeviceTable()) {
        size_t before = m->devices_.size();
        HVKIT_RETURN_IF_ERROR(
            module->setup(ctx).WithContext(std::string("device ") + module->name));
        HVKIT_RETURN_IF_ERROR(CheckSavedStateNames(*module, before, m->devices_));
    }

    for (uint32_t i = 0; i < config.cpus; ++i) {
        HVKIT_ASSIGN_OR_RETURN(auto vcpu, Vcpu::Create(*m->kvm_, *m->vm_, i, config.cpus));
        m->vcpus_.push_back(std::move(vcpu));
    }
    return m;
}

Result<std::unique_ptr<Machine>> BuildMachine(const MachineConfig& config) {
    HVKIT_RETURN_IF_ERROR(CheckConfig(config));
    // Refuse a bad kernel before touching KVM: the user's mistake comes first.
    BzImage image;
    if (!config.kernel.empty()) {
        HVKIT_ASSIGN_OR_RETURN(image, ParseBzImage(config.kernel, config.kernel_name));
    }
    HVKIT_ASSIGN_OR_RETURN(std::unique_ptr<Machine> m, Machine::Compose(config, nullptr));
    HVKIT_RETURN_IF_ERROR(WriteMpTable(*m->memory_, config.cpus));
    LinuxEntry entry;
    if (!config.kernel.empty()) {
        HVKIT_ASSIGN_OR_RETURN(entry, LoadLinux(*m->memory_, image, config.initrd, config.cmdline));
    } else {
        HVKIT_RETURN_IF_ERROR(LoadRealModePayload(*m->memory_, config.real_mode_payload));
    }
    // The BSP starts at the entry point; the in-kernel LAPIC holds the APs in
    // wait-for-SIPI until the guest starts them.
    int bsp = m->vcpus_.front()->fd();
    if (!config.kernel.empty()) {
        HVKIT_RETURN_IF_ERROR(
            ConfigureLongMode(bsp, *m->memory_, entry.entry_gpa, entry.boot_params_gpa));
    } else {
        HVKIT_RETURN_IF_ERROR(ConfigureRealMode(bsp, layout::kRealModeLoad));
    }
    return m;
}

Result<std::unique_ptr<Machine>> AdoptMachine(const MachineConfig& config, HandoverFds& adopted) {
    if (!config.serial_sink) {
        return Error(ErrorCode::kInvalidArgument, "a machine needs a serial sink");
    }
    HVKIT_ASSIGN_OR_RETURN(std::unique_ptr<Machine> m, Machine::Compose(config, &adopted));
    std::vector<std::string> left = adopted.Untaken();
    if (!left.empty()) {
        return Error(ErrorCode::kMalformed, "the handover carries fd \"" + left.front() +
                                                "\", which no part of this machine takes: the "
                                                "predecessor's machine differs from this "
                                                "configuration");
    }
    return m;
}

}  // namespace hvkit::hvmm
