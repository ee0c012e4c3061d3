// A PCI function's configuration space: bytes, write masks, BARs, capabilities.
#include <cstdlib>
#include <cstring>

#include "pci/pci.h"

namespace hvkit::hvmm {

namespace {

bool ValidAccess(uint16_t offset, size_t size) {
    return (size == 1 || size == 2 || size == 4) && offset + size <= pci::kConfigSize;
}

}  // namespace

PciConfigSpace::PciConfigSpace(uint16_t vendor, uint16_t device, uint32_t class_code,
                               uint8_t revision) {
    Set(pci::kVendorId, 2, vendor);
    Set(pci::kDeviceId, 2, device);
    Set(pci::kRevision, 1, revision);
    Set(pci::kClassProgIf, 1, class_code & 0xff);
    Set(pci::kClassProgIf + 1, 2, (class_code >> 8) & 0xffff);
    Set(pci::kHeaderType, 1, 0);
    // The command bits hvmm's devices implement; the rest of the header is
    // read-only except the interrupt line (scratch for the OS).
    uint16_t command_mask =
        pci::kCommandIo | pci::kCommandMemory | pci::kCommandBusMaster | pci::kCommandIntxDisable;
    mask_[pci::kCommand] = command_mask & 0xff;
    mask_[pci::kCommand + 1] = command_mask >> 8;
    mask_[pci::kInterruptLine] = 0xff;
    power_on_ = bytes_;
}

void PciConfigSpace::SetSubsystem(uint16_t vendor, uint16_t id) {
    Set(pci::kSubsystemVendorId, 2, vendor);
    Set(pci::kSubsystemId, 2, id);
}

void PciConfigSpace::DeclareMemoryBar(int index, uint32_t size, uint32_t address) {
    if (index < 0 || index >= pci::kBarCount || size < 4096 || (size & (size - 1)) != 0 ||
        (address & (size - 1)) != 0) {
        abort();  // a device's own layout is wrong: a programming error
    }
    bar_sizes_[index] = size;
    uint16_t offset = static_cast<uint16_t>(pci::kBar0 + 4 * index);
    Set(offset, 4, address);  // bits 0-3: memory, 32-bit, not prefetchable
    uint32_t mask = ~(size - 1);
    for (int i = 0; i < 4; ++i) mask_[offset + i] = static_cast<uint8_t>(mask >> (8 * i));
}

void PciConfigSpace::DeclareMemoryBar64(int index, uint32_t size, uint32_t address) {
    if (index < 0 || index + 1 >= pci::kBarCount) abort();
    DeclareMemoryBar(index, size, address);
    bar_64_[index] = true;
    uint16_t offset = static_cast<uint16_t>(pci::kBar0 + 4 * index);
    Set(offset, 4, address | 0x0c);  // bits 1-2: 64-bit; bit 3: prefetchable
    Set(offset + 4, 4, 0);
    for (int i = 4; i < 8; ++i) mask_[offset + i] = 0xff;
}

uint8_t PciConfigSpace::AddCapability(uint8_t id, std::span<const uint8_t> body,
                                      std::span<const uint8_t> writable) {
    size_t length = 2 + body.size();
    // Capabilities are dword-aligned and must end inside the 256 bytes.
    if (next_capability_ + length > pci::kConfigSize ||
        (!writable.empty() && writable.size() != body.size())) {
        abort();
    }
    uint8_t offset = next_capability_;
    bytes_[offset] = id;
    bytes_[offset + 1] = 0;
    std::memcpy(&bytes_[offset + 2], body.data(), body.size());
    if (!writable.empty()) std::memcpy(&mask_[offset + 2], writable.data(), writable.size());
    if (last_capability_ == 0) {
        bytes_[pci::kCapabilitiesPointer] = offset;
        Set(pci::kStatus, 2, Read(pci::kStatus, 2) | pci::kStatusCapabilities);
    } else {
        bytes_[last_capability_ + 1] = offset;
    }
    last_capability_ = offset;
    next_capability_ = static_cast<uint8_t>((offset + length + 3) & ~size_t{3});
    return offset;
}

uint32_t PciConfigSpace::Read(uint16_t offset, size_t size) const {
    if (!ValidAccess(offset, size)) return 0xffffffffu;
    uint32_t value = 0;
    for (size_t i = 0; i < size; ++i) value |= uint32_t{bytes_[offset + i]} << (8 * i);
    return value;
}

bool PciConfigSpace::Write(uint16_t offset, size_t size, uint32_t value) {
    if (!ValidAccess(offset, size)) return false;
    for (size_t i = 0; i < size; ++i) {
        uint8_t byte = static_cast<uint8_t>(value >> (8 * i));
        uint8_t mask = mask_[offset + i];
        bytes_[offset + i] = static_cast<uint8_t>((bytes_[offset + i] & ~mask) | (byte & mask));
    }
    return true;
}

void PciConfigSpace::Set(uint16_t offset, size_t size, uint32_t value) {
    if (!ValidAccess(offset, size)) abort();
    for (size_t i = 0; i < size; ++i) bytes_[offset + i] = static_cast<uint8_t>(value >> (8 * i));
}

uint32_t PciConfigSpace::bar_size(int index) const {
    if (index < 0 || index >= pci::kBarCount) return 0;
    return bar_sizes_[index];
}

uint64_t PciConfigSpace::bar_address(int index) const {
    if (bar_size(index) == 0) return 0;
    uint16_t offset = static_cast<uint16_t>(pci::kBar0 + 4 * index);
    uint64_t low = Read(offset, 4) & ~(bar_sizes_[index] - 1);
    if (!bar_64_[index]) return low;
    return low | (uint64_t{Read(static_cast<uint16_t>(offset + 4), 4)} << 32);
}

Status PciConfigSpace::RestoreBytes(std::span<const uint8_t> bytes, std::string_view device) {
    if (bytes.size() != pci::kConfigSize) {
        return Error(ErrorCode::kMalformed, std::string(device) + ": saved config space has " +
                                                std::to_string(bytes.size()) + " bytes, not 256");
    }
    for (size_t i = 0; i < pci::kConfigSize; ++i) {
        if ((bytes[i] & ~mask_[i]) != (bytes_[i] & ~mask_[i])) {
            return Error(ErrorCode::kMalformed,
                         std::string(device) + ": saved config space differs at read-only byte " +
                             std::to_string(i) + " (state of another device or version?)");
        }
    }
    std::memcpy(bytes_.data(), bytes.data(), bytes_.size());
    return Status::Ok();
}

}  // namespace hvkit::hvmm
