// What every PCI function shares: locked config-space access.
#include "pci/pci.h"

namespace hvkit::hvmm {

uint32_t PciFunction::ConfigRead(uint16_t offset, size_t size) {
    std::lock_guard lock(mu_);
    return config_.Read(offset, size);
}

void PciFunction::ConfigWrite(uint16_t offset, size_t size, uint32_t value) {
    std::lock_guard lock(mu_);
    if (config_.Write(offset, size, value)) ConfigWritten(offset, size);
}

PciConfigSpace PciFunction::ConfigSnapshot() const {
    std::lock_guard lock(mu_);
    return config_;
}

void PciFunction::SaveConfigTo(Json& state) const {
    state["config"] = BytesToJson(config_.bytes());
}

Status PciFunction::RestoreConfigFrom(const Json& state) {
    HVKIT_ASSIGN_OR_RETURN(auto bytes, StateBytes(state, "config", pci::kConfigSize, name()));
    return config_.RestoreBytes(bytes, name());
}

}  // namespace hvkit::hvmm
