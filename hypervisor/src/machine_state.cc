// A machine's whole state — KVM's in-kernel devices, every vCPU, hvmm's
// devices — for live takeover: saved by one hvmm, restored by the next, and
// the host fds and device quiescing that go with it.
#include "hvmm.h"

namespace hvkit::hvmm {

namespace {
constexpr int64_t kMachineStateVersion = 1;
}  // namespace

Result<Json> Machine::SaveState() const {
    Json state = Json::MakeObject();
    state["version"] = Json(kMachineStateVersion);
    HVKIT_ASSIGN_OR_RETURN(state["vm"], SaveVmState(vm_->fd()));
    HVKIT_ASSIGN_OR_RETURN(std::vector<uint32_t> msrs, kvm_->MsrIndexList());
    Json vcpus = Json::MakeArray();
    for (const auto& vcpu : vcpus_) {
        auto one = SaveVcpuState(vcpu->fd(), msrs);
        if (!one.ok()) return one.status().WithContext("vCPU " + std::to_string(vcpu->index()));
        vcpus.as_array().push_back(std::move(*one));
    }
    state["vcpus"] = std::move(vcpus);
    state["devices"] = SaveDevices();
    return state;
}

Status Machine::RestoreState(const Json& state) {
    HVKIT_RETURN_IF_ERROR(CheckStateVersion(state, kMachineStateVersion, "machine"));
    const Json* vm = state.Find("vm");
    const Json* vcpus = state.Find("vcpus");
    const Json* devices = state.Find("devices");
    if (vm == nullptr || devices == nullptr || vcpus == nullptr || !vcpus->is_array()) {
        return Error(ErrorCode::kMalformed, "machine state lacks \"vm\", \"vcpus\" or \"devices\"");
    }
    if (vcpus->as_array().size() != vcpus_.size()) {
        return Error(ErrorCode::kMalformed,
                     "machine state has " + std::to_string(vcpus->as_array().size()) +
                         " vCPUs; this machine has " + std::to_string(vcpus_.size()));
    }
    HVKIT_RETURN_IF_ERROR(RestoreDevices(*devices));
    HVKIT_RETURN_IF_ERROR(RestoreVmState(vm_->fd(), *vm));
    for (size_t i = 0; i < vcpus_.size(); ++i) {
        HVKIT_RETURN_IF_ERROR(RestoreVcpuState(vcpus_[i]->fd(), vcpus->as_array()[i])
                                  .WithContext("vCPU " + std::to_string(i)));
    }
    return Status::Ok();
}

std::vector<SharedFd> Machine::SharedFds() const {
    std::vector<SharedFd> fds{{"ram", memory_->memfd()}};
    for (const auto& d : devices_) d->ShareFds(fds);
    return fds;
}

Status Machine::CanHandOver() const {
    for (const auto& d : devices_) HVKIT_RETURN_IF_ERROR(d->CanHandOver());
    return Status::Ok();
}

void Machine::Quiesce() {
    for (const auto& d : devices_) d->Quiesce();
}

void Machine::Unquiesce() {
    for (const auto& d : devices_) d->Unquiesce();
}

}  // namespace hvkit::hvmm
