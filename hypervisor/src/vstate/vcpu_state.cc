// A vCPU's and the VM's KVM state as JSON, and back: what live upgrade hands
// to the next hvmm. Structures KVM defines travel as hex of their bytes, each
// size checked on the way in; KVM checks their contents when they are set.
#include <sys/ioctl.h>

#include <cerrno>
#include <cstring>

#include "arch/x86_64/arch.h"
#include "hvkit/crypto.h"
#include "hvmm.h"
#include "vstate/kvm_abi.h"

namespace hvkit::hvmm {

namespace {

constexpr int64_t kVcpuStateVersion = 2;  // 2: carries the CPUID
constexpr uint32_t kMsrIa32TscDeadline = 0x6e0;
constexpr int64_t kVmStateVersion = 1;

Status IoctlError(const std::string& what) {
    return Error(ErrorCode::kIo, what + ": " + strerror(errno));
}

template <typename T>
std::string ToHex(const T& value) {
    return HexEncode({reinterpret_cast<const uint8_t*>(&value), sizeof value});
}

// Member (key) of (state): hex of exactly sizeof(T) bytes, into (out).
template <typename T>
Status FromHex(const Json& state, std::string_view key, std::string_view who, T* out) {
    const Json* v = state.Find(key);
    std::string what = std::string(who) + " \"" + std::string(key) + "\"";
    if (v == nullptr || !v->is_string()) return Error(ErrorCode::kMalformed, what + " is missing");
    auto bytes = HexDecode(v->as_string(), what);
    if (!bytes.ok() || bytes->size() != sizeof(T)) {
        return Error(ErrorCode::kMalformed,
                     what + " is not hex of " + std::to_string(sizeof(T)) + " bytes");
    }
    memcpy(out, bytes->data(), sizeof(T));
    return Status::Ok();
}

// A get-ioctl into a T, as hex.
template <typename T>
Result<std::string> Get(int fd, unsigned long request, const char* name, T init = {}) {
    T value = init;
    if (ioctl(fd, request, &value) != 0) return IoctlError(name);
    return ToHex(value);
}

Result<Json> SaveMsrs(int fd, const std::vector<uint32_t>& indices) {
    std::vector<uint32_t> wanted = indices;
    // KVM_GET_MSRS stops at the first MSR it cannot read: drop that one, retry.
    for (;;) {
        KvmMsrsHeader header{static_cast<uint32_t>(wanted.size()), 0};
        std::vector<uint8_t> buf(sizeof header + wanted.size() * sizeof(kvm_msr_entry));
        memcpy(buf.data(), &header, sizeof header);
        for (size_t i = 0; i < wanted.size(); ++i) {
            kvm_msr_entry e{};
            e.index = wanted[i];
            memcpy(buf.data() + sizeof header + i * sizeof e, &e, sizeof e);
        }
        int n = wanted.empty() ? 0 : ioctl(fd, kKvmGetMsrs, buf.data());
        if (n < 0) return IoctlError("KVM_GET_MSRS");
        if (static_cast<size_t>(n) < wanted.size()) {
            wanted.erase(wanted.begin() + n);
            continue;
        }
        Json msrs = Json::MakeArray();
        for (size_t i = 0; i < wanted.size(); ++i) {
            kvm_msr_entry e;
            memcpy(&e, buf.data() + sizeof header + i * sizeof e, sizeof e);
            Json pair = Json::MakeArray();
            pair.as_array().push_back(Json(static_cast<int64_t>(e.index)));
            pair.as_array().push_back(Json(HexEncode({reinterpret_cast<uint8_t*>(&e.data), 8})));
            msrs.as_array().push_back(std::move(pair));
        }
        return msrs;
    }
}

Result<std::vector<kvm_msr_entry>> LoadMsrs(const Json& state) {
    const Json* msrs = state.Find("msrs");
    if (msrs == nullptr || !msrs->is_array() || msrs->as_array().size() > 4096) {
        return Error(ErrorCode::kMalformed, "vCPU \"msrs\" is not an array of at most 4096");
    }
    std::vector<kvm_msr_entry> out;
    for (const Json& pair : msrs->as_array()) {
        if (!pair.is_array() || pair.as_array().size() != 2 || !pair.as_array()[0].is_int() ||
            pair.as_array()[0].as_int() < 0 || pair.as_array()[0].as_int() > 0xffffffffll ||
            !pair.as_array()[1].is_string()) {
            return Error(ErrorCode::kMalformed, "vCPU \"msrs\" entry is not [index, hex value]");
        }
        auto value = HexDecode(pair.as_array()[1].as_string(), "vCPU MSR value");
        if (!value.ok() || value->size() != 8) {
            return Error(ErrorCode::kMalformed, "vCPU MSR value is not 8 bytes of hex");
        }
        kvm_msr_entry e{};
        e.index = static_cast<uint32_t>(pair.as_array()[0].as_int());
        memcpy(&e.data, value->data(), 8);
        out.push_back(e);
    }
    return out;
}

// The CPUID the vCPU was given (KVM_GET_CPUID2), as hex of its entries: the
// guest keeps seeing it under a successor whose own CPUID code differs.
Result<std::string> SaveCpuid(int fd) {
    HVKIT_ASSIGN_OR_RETURN(std::vector<kvm_cpuid_entry2> entries, GetVcpuCpuid(fd));
    return HexEncode({reinterpret_cast<const uint8_t*>(entries.data()),
                      entries.size() * sizeof(kvm_cpuid_entry2)});
}

Result<std::vector<kvm_cpuid_entry2>> LoadCpuid(const Json& state) {
    const Json* v = state.Find("cpuid");
    if (v == nullptr || !v->is_string()) {
        return Error(ErrorCode::kMalformed, "vCPU \"cpuid\" is missing");
    }
    auto bytes = HexDecode(v->as_string(), "vCPU cpuid");
    if (!bytes.ok() || bytes->empty() || bytes->size() % sizeof(kvm_cpuid_entry2) != 0 ||
        bytes->size() / sizeof(kvm_cpuid_entry2) > kMaxCpuidEntries) {
        return Error(ErrorCode::kMalformed, "vCPU \"cpuid\" is not hex of 1 to " +
                                                std::to_string(kMaxCpuidEntries) + " entries");
    }
    std::vector<kvm_cpuid_entry2> entries(bytes->size() / sizeof(kvm_cpuid_entry2));
    memcpy(entries.data(), bytes->data(), bytes->size());
    return entries;
}

}  // namespace

Result<Json> SaveVcpuState(int fd, const std::vector<uint32_t>& msr_indices) {
    Json state = Json::MakeObject();
    state["version"] = Json(kVcpuStateVersion);
    // MP state first: reading it makes KVM process pending INIT/SIPI
    // (kvm_apic_accept_events), which changes the registers read after it.
    HVKIT_ASSIGN_OR_RETURN(state["mp_state"],
                           Get<kvm_mp_state>(fd, KVM_GET_MP_STATE, "KVM_GET_MP_STATE"));
    HVKIT_ASSIGN_OR_RETURN(state["cpuid"], SaveCpuid(fd));
    HVKIT_ASSIGN_OR_RETURN(state["regs"], Get<kvm_regs>(fd, KVM_GET_REGS, "KVM_GET_REGS"));
    HVKIT_ASSIGN_OR_RETURN(state["sregs"], Get<kvm_sregs>(fd, KVM_GET_SREGS, "KVM_GET_SREGS"));
    HVKIT_ASSIGN_OR_RETURN(state["xsave"], Get<KvmXsave>(fd, kKvmGetXsave, "KVM_GET_XSAVE"));
    HVKIT_ASSIGN_OR_RETURN(state["xcrs"], Get<kvm_xcrs>(fd, KVM_GET_XCRS, "KVM_GET_XCRS"));
    HVKIT_ASSIGN_OR_RETURN(state["lapic"],
                           Get<kvm_lapic_state>(fd, KVM_GET_LAPIC, "KVM_GET_LAPIC"));
    HVKIT_ASSIGN_OR_RETURN(state["events"],
                           Get<kvm_vcpu_events>(fd, KVM_GET_VCPU_EVENTS, "KVM_GET_VCPU_EVENTS"));
    HVKIT_ASSIGN_OR_RETURN(state["debugregs"],
                           Get<kvm_debugregs>(fd, KVM_GET_DEBUGREGS, "KVM_GET_DEBUGREGS"));
    HVKIT_ASSIGN_OR_RETURN(state["msrs"], SaveMsrs(fd, msr_indices));
    return state;
}

Status RestoreVcpuState(int fd, const Json& state) {
    HVKIT_RETURN_IF_ERROR(CheckStateVersion(state, kVcpuStateVersion, "vCPU"));
    // Everything is parsed before anything is set, so malformed state
    // changes nothing.
    kvm_regs regs;
    kvm_sregs sregs;
    KvmXsave xsave;
    kvm_xcrs xcrs;
    kvm_lapic_state lapic;
    kvm_vcpu_events events;
    kvm_mp_state mp_state;
    kvm_debugregs debugregs;
    HVKIT_RETURN_IF_ERROR(FromHex(state, "regs", "vCPU", &regs));
    HVKIT_RETURN_IF_ERROR(FromHex(state, "sregs", "vCPU", &sregs));
    HVKIT_RETURN_IF_ERROR(FromHex(state, "xsave", "vCPU", &xsave));
    HVKIT_RETURN_IF_ERROR(FromHex(state, "xcrs", "vCPU", &xcrs));
    HVKIT_RETURN_IF_ERROR(FromHex(state, "lapic", "vCPU", &lapic));
    HVKIT_RETURN_IF_ERROR(FromHex(state, "events", "vCPU", &events));
    HVKIT_RETURN_IF_ERROR(FromHex(state, "mp_state", "vCPU", &mp_state));
    HVKIT_RETURN_IF_ERROR(FromHex(state, "debugregs", "vCPU", &debugregs));
    HVKIT_ASSIGN_OR_RETURN(std::vector<kvm_msr_entry> msrs, LoadMsrs(state));
    HVKIT_ASSIGN_OR_RETURN(std::vector<kvm_cpuid_entry2> cpuid, LoadCpuid(state));
    if (xcrs.nr_xcrs > KVM_MAX_XCRS) {
        return Error(ErrorCode::kMalformed, "vCPU \"xcrs\" has more than KVM_MAX_XCRS entries");
    }
    // The order KVM needs: CPUID; special registers (APIC base, CR4) before the
    // LAPIC; the LAPIC before the MSRs, and the TSC before TSC_DEADLINE, or
    // an armed deadline timer is lost (KVM drops a deadline written while
    // the LAPIC is not in TSC-deadline mode, and measures it against the
    // TSC); events and MP state last.
    // The guest's CPUID first: what the MSRs and XSAVE are checked against.
    HVKIT_RETURN_IF_ERROR(RestoreVcpuCpuid(fd, cpuid));
    if (ioctl(fd, KVM_SET_SREGS, &sregs) != 0) return IoctlError("KVM_SET_SREGS");
    if (ioctl(fd, KVM_SET_REGS, &regs) != 0) return IoctlError("KVM_SET_REGS");
    if (ioctl(fd, KVM_SET_XCRS, &xcrs) != 0) return IoctlError("KVM_SET_XCRS");
    if (ioctl(fd, kKvmSetXsave, &xsave) != 0) return IoctlError("KVM_SET_XSAVE");
    if (ioctl(fd, KVM_SET_LAPIC, &lapic) != 0) return IoctlError("KVM_SET_LAPIC");
    std::vector<kvm_msr_entry> deadline;
    std::erase_if(msrs, [&](const kvm_msr_entry& e) {
        if (e.index != kMsrIa32TscDeadline) return false;
        deadline.push_back(e);
        return true;
    });
    HVKIT_RETURN_IF_ERROR(SetMsrs(fd, msrs));
    HVKIT_RETURN_IF_ERROR(SetMsrs(fd, deadline));
    if (ioctl(fd, KVM_SET_DEBUGREGS, &debugregs) != 0) return IoctlError("KVM_SET_DEBUGREGS");
    // KVM_GET_VCPU_EVENTS leaves these two flags clear, and without them
    // KVM_SET_VCPU_EVENTS ignores a pending NMI and the SIPI vector.
    events.flags |= KVM_VCPUEVENT_VALID_NMI_PENDING | KVM_VCPUEVENT_VALID_SIPI_VECTOR;
    if (ioctl(fd, KVM_SET_VCPU_EVENTS, &events) != 0) return IoctlError("KVM_SET_VCPU_EVENTS");
    if (ioctl(fd, KVM_SET_MP_STATE, &mp_state) != 0) return IoctlError("KVM_SET_MP_STATE");
    // Tell a kvmclock guest it was paused, so its watchdogs do not take the
    // blackout for a lockup. EINVAL: the guest has not enabled kvmclock.
    if (ioctl(fd, KVM_KVMCLOCK_CTRL, 0) != 0 && errno != EINVAL) {
        return IoctlError("KVM_KVMCLOCK_CTRL");
    }
    return Status::Ok();
}

Result<Json> SaveVmState(int vm_fd) {
    Json state = Json::MakeObject();
    state["version"] = Json(kVmStateVersion);
    Json chips = Json::MakeArray();
    for (uint32_t chip : {KVM_IRQCHIP_PIC_MASTER, KVM_IRQCHIP_PIC_SLAVE, KVM_IRQCHIP_IOAPIC}) {
        kvm_irqchip c{};
        c.chip_id = chip;
        HVKIT_ASSIGN_OR_RETURN(std::string hex,
                               Get<kvm_irqchip>(vm_fd, KVM_GET_IRQCHIP, "KVM_GET_IRQCHIP", c));
        chips.as_array().push_back(Json(std::move(hex)));
    }
    state["irqchips"] = std::move(chips);
    HVKIT_ASSIGN_OR_RETURN(state["pit"], Get<kvm_pit_state2>(vm_fd, KVM_GET_PIT2, "KVM_GET_PIT2"));
    HVKIT_ASSIGN_OR_RETURN(state["clock"],
                           Get<kvm_clock_data>(vm_fd, KVM_GET_CLOCK, "KVM_GET_CLOCK"));
    return state;
}

Status RestoreVmState(int vm_fd, const Json& state) {
    HVKIT_RETURN_IF_ERROR(CheckStateVersion(state, kVmStateVersion, "VM"));
    const Json* chips = state.Find("irqchips");
    if (chips == nullptr || !chips->is_array() || chips->as_array().size() != 3) {
        return Error(ErrorCode::kMalformed, "VM \"irqchips\" is not an array of 3");
    }
    kvm_irqchip parsed[3];
    for (size_t i = 0; i < 3; ++i) {
        Json one = Json::MakeObject();
        one["chip"] = chips->as_array()[i];
        HVKIT_RETURN_IF_ERROR(FromHex(one, "chip", "VM irqchip", &parsed[i]));
        if (parsed[i].chip_id != i) {
            return Error(ErrorCode::kMalformed, "VM irqchip " + std::to_string(i) +
                                                    " carries chip id " +
                                                    std::to_string(parsed[i].chip_id));
        }
    }
    kvm_pit_state2 pit;
    kvm_clock_data clock;
    HVKIT_RETURN_IF_ERROR(FromHex(state, "pit", "VM", &pit));
    HVKIT_RETURN_IF_ERROR(FromHex(state, "clock", "VM", &clock));
    for (auto& chip : parsed) {
        if (ioctl(vm_fd, KVM_SET_IRQCHIP, &chip) != 0) return IoctlError("KVM_SET_IRQCHIP");
    }
    if (ioctl(vm_fd, KVM_SET_PIT2, &pit) != 0) return IoctlError("KVM_SET_PIT2");
    // With KVM_CLOCK_REALTIME (Linux 5.16+) KVM advances the clock by the
    // host's real time since the save, so the guest's clock does not lose
    // the blackout; without it, the saved value alone (the guest's clock
    // then lags by the blackout, and NTP catches it up). The other flags
    // and the host TSC were the old process's.
    kvm_clock_data set{};
    set.clock = clock.clock;
    if (clock.flags & KVM_CLOCK_REALTIME) {
        set.flags = KVM_CLOCK_REALTIME;
        set.realtime = clock.realtime;
    }
    if (ioctl(vm_fd, KVM_SET_CLOCK, &set) != 0) {
        if (set.flags == 0) return IoctlError("KVM_SET_CLOCK");
        set.flags = 0;  // a kernel that gave realtime but refuses it back
        if (ioctl(vm_fd, KVM_SET_CLOCK, &set) != 0) return IoctlError("KVM_SET_CLOCK");
    }
    return Status::Ok();
}

}  // namespace hvkit::hvmm
