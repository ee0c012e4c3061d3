// PCI: configuration space, functions, MSI-X and the root complex (bus 0).
//
//   config_space.cc  PciConfigSpace: 256 bytes with write masks, BARs, capabilities
//   function.cc      PciFunction: what a PCI device implements
//   msix.cc          MsixVectors: the MSI-X table, PBA and delivery
//   root.cc          PciRoot: configuration mechanism #1 (ports 0xcf8-0xcff),
//                    BAR decoding in the 32-bit MMIO window, device memory BARs
//   host_bridge.cc   the host bridge at 00:00.0 (Linux's direct-access probe
//                    looks for one)
//
// Every value here comes from the guest: config writes pass write masks, BAR
// addresses are decoded only inside the MMIO window, and an access no function
// claims reads all-ones.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <span>
#include <string>
#include <vector>

#include "hvmm.h"

namespace hvkit::hvmm {

// Standard configuration-space offsets and bits (PCI Local Bus 3.0, ch. 6).
namespace pci {
inline constexpr uint16_t kVendorId = 0x00;
inline constexpr uint16_t kDeviceId = 0x02;
inline constexpr uint16_t kCommand = 0x04;
inline constexpr uint16_t kStatus = 0x06;
inline constexpr uint16_t kRevision = 0x08;
inline constexpr uint16_t kClassProgIf = 0x09;
inline constexpr uint16_t kHeaderType = 0x0e;
inline constexpr uint16_t kBar0 = 0x10;
inline constexpr uint16_t kSubsystemVendorId = 0x2c;
inline constexpr uint16_t kSubsystemId = 0x2e;
inline constexpr uint16_t kCapabilitiesPointer = 0x34;
inline constexpr uint16_t kInterruptLine = 0x3c;
inline constexpr uint16_t kInterruptPin = 0x3d;
inline constexpr uint16_t kFirstCapability = 0x40;
inline constexpr size_t kConfigSize = 256;
inline constexpr int kBarCount = 6;

inline constexpr uint16_t kCommandIo = 1u << 0;
inline constexpr uint16_t kCommandMemory = 1u << 1;
inline constexpr uint16_t kCommandBusMaster = 1u << 2;
inline constexpr uint16_t kCommandIntxDisable = 1u << 10;
inline constexpr uint16_t kStatusInterrupt = 1u << 3;  // PCI 2.3: INTx pending
inline constexpr uint16_t kStatusCapabilities = 1u << 4;

inline constexpr uint8_t kCapVendor = 0x09;
inline constexpr uint8_t kCapMsix = 0x11;

inline constexpr int kMaxSlots = 32;
}  // namespace pci

// A function's 256-byte configuration space (type 0 header). Each byte has a
// write mask: guest writes change only masked bits, so read-only fields,
// BAR size bits and capability structure stay as the device set them.
class PciConfigSpace {
  public:
    // (class_code) is class << 16 | subclass << 8 | prog-if.
    PciConfigSpace(uint16_t vendor, uint16_t device, uint32_t class_code, uint8_t revision);

    void SetSubsystem(uint16_t vendor, uint16_t id);
    // Declares BAR (index) as 32-bit, non-prefetchable memory of (size) bytes
    // (a power of two, at least 4 KiB) at (address) (aligned to size). Sizing
    // works through the write mask: all-ones reads back as ~(size - 1).
    void DeclareMemoryBar(int index, uint32_t size, uint32_t address);
    // Declares BARs (index) and (index + 1) as one 64-bit prefetchable memory
    // BAR of (size) bytes at (address) (below 4 GiB: hvmm decodes BARs in the
    // 32-bit window only). The high dword is writable, so the guest may size
    // it; a BAR moved above 4 GiB stops decoding.
    void DeclareMemoryBar64(int index, uint32_t size, uint32_t address);
    // Appends capability (id) with (body) after its id/next bytes; (writable)
    // (same length as body, or empty for read-only) is the body's write mask.
    // Returns the capability's offset. Capabilities must fit in 256 bytes:
    // running out is a programming error and aborts.
    uint8_t AddCapability(uint8_t id, std::span<const uint8_t> body,
                          std::span<const uint8_t> writable = {});

    // A little-endian read of (size) (1, 2 or 4) bytes at (offset); a read
    // past the end returns all-ones.
    uint32_t Read(uint16_t offset, size_t size) const;
    // A guest write through the write mask. Returns false (and changes
    // nothing) for a write past the end.
    bool Write(uint16_t offset, size_t size, uint32_t value);
    // A device-side write that ignores the mask (capability fields the device
    // owns, e.g. virtio's queue state mirrored there).
    void Set(uint16_t offset, size_t size, uint32_t value);

    uint16_t command() const { return static_cast<uint16_t>(Read(pci::kCommand, 2)); }
    bool memory_enabled() const { return command() & pci::kCommandMemory; }
    bool bus_master() const { return command() & pci::kCommandBusMaster; }
    // BAR (index)'s size, 0 when undeclared.
    uint32_t bar_size(int index) const;
    // BAR (index)'s current address (its writable bits, with the high dword
    // of a 64-bit BAR).
    uint64_t bar_address(int index) const;

    // Save/restore: the bytes (the masks are the device's and not saved).
    std::span<const uint8_t> bytes() const { return bytes_; }
    // Replaces the writable bits with those of (bytes); read-only bits must
    // match the device's, so a saved state from another device is refused.
    Status RestoreBytes(std::span<const uint8_t> bytes, std::string_view device);
    // Back to the power-on bytes (those before any guest write).
    void Reset() { bytes_ = power_on_; }
    // Records the current bytes as the power-on state (call after setup).
    void SealPowerOnState() { power_on_ = bytes_; }

  private:
    std::array<uint8_t, pci::kConfigSize> bytes_{};
    std::array<uint8_t, pci::kConfigSize> mask_{};
    std::array<uint8_t, pci::kConfigSize> power_on_{};
    std::array<uint32_t, pci::kBarCount> bar_sizes_{};
    std::array<bool, pci::kBarCount> bar_64_{};
    uint8_t next_capability_ = pci::kFirstCapability;
    uint8_t last_capability_ = 0;  // offset of the last capability, 0 = none yet
};

// A PCI function (device 0..31, function 0 of bus 0). Config accesses come
// from the root; BAR accesses come from vCPU threads through the root's
// decoding. The function locks its own state (mu_).
class PciFunction : public DeviceState {
  public:
    explicit PciFunction(PciConfigSpace config) : config_(std::move(config)) {}

    // Config-space access. The default applies the write mask and then calls
    // ConfigWritten(); functions with config side effects override that.
    virtual uint32_t ConfigRead(uint16_t offset, size_t size);
    virtual void ConfigWrite(uint16_t offset, size_t size, uint32_t value);

    // An access of (data.size()) bytes at (offset) inside memory BAR (bar).
    // Offsets are checked against the BAR size by the root; values are the
    // guest's.
    virtual void BarRead(int bar, uint64_t offset, std::span<uint8_t> data) = 0;
    virtual void BarWrite(int bar, uint64_t offset, std::span<const uint8_t> data) = 0;

    // Device memory behind BAR (bar) (mapped as guest RAM, never trapped), or
    // an empty span when the BAR traps. hvchan's shared memory uses this.
    virtual std::span<uint8_t> BarMemory(int bar) {
        (void)bar;
        return {};
    }

    // A snapshot of the config space (for the root's decoding).
    PciConfigSpace ConfigSnapshot() const;

  protected:
    // The config space as member "config" of a saved state, and back; call
    // with mu_ held. Restoring refuses bytes whose read-only bits differ.
    void SaveConfigTo(Json& state) const;
    Status RestoreConfigFrom(const Json& state);
    // Called with mu_ held after a guest config write.
    virtual void ConfigWritten(uint16_t offset, size_t size) {
        (void)offset;
        (void)size;
    }
    mutable std::mutex mu_;
    PciConfigSpace config_;
};

// MSI-X for one function: the vector table and pending-bit array, which live
// in one of the function's memory BARs, and delivery. Not locked itself: the
// owning function calls it with its mu_ held.
class MsixVectors {
  public:
    static constexpr uint32_t kEntrySize = 16;
    // (count) vectors (1..2048), delivered through (sink).
    MsixVectors(uint16_t count, MsiSink sink);

    // Adds the MSI-X capability to (config): table at (table_offset) and PBA
    // at (pba_offset) of BAR (bar). Offsets 8-byte aligned.
    void AddCapability(PciConfigSpace& config, int bar, uint32_t table_offset, uint32_t pba_offset);
    // Bytes of BAR space the table and the PBA take.
    uint32_t table_size() const { return count_ * kEntrySize; }
    uint32_t pba_size() const { return ((count_ + 63) / 64) * 8; }

    // A BAR access at (offset) of the capability's BAR: handled (true) when it
    // lies in the table or the PBA. Table entries accept 4- and 8-byte
    // accesses; anything else reads all-ones and is ignored.
    bool BarRead(uint64_t offset, std::span<uint8_t> data) const;
    bool BarWrite(uint64_t offset, std::span<const uint8_t> data);
    // After a config write: an unmasked vector or function with its pending
    // bit set is delivered now.
    void ConfigWritten();

    // Raises (vector): delivered when MSI-X is enabled and neither the
    // function nor the vector is masked, else left pending. Out-of-range
    // vectors (including VIRTIO_MSI_NO_VECTOR) are ignored.
    void Notify(uint16_t vector);
    bool enabled() const;
    uint16_t count() const { return count_; }

    Json Save() const;
    Status Restore(const Json& state, std::string_view device);
    void Reset();

  private:
    struct Entry {
        uint64_t address = 0;
        uint32_t data = 0;
        uint32_t control = 1;  // bit 0: masked (the power-on state)
    };
    bool function_masked() const;
    void DeliverPending();
    uint16_t count_;
    MsiSink sink_;
    const PciConfigSpace* config_ = nullptr;
    uint8_t cap_offset_ = 0;
    uint32_t table_offset_ = 0;
    uint32_t pba_offset_ = 0;
    std::vector<Entry> entries_;
    std::vector<bool> pending_;
};

// Bus 0 of the root complex: configuration mechanism #1 on ports
// 0xcf8-0xcff (and the PIIX reset control register 0xcf9), and the 32-bit
// MMIO window where memory BARs are decoded. Functions' BARs are assigned
// by hvmm (the guest keeps them, as Linux does with firmware assignments) but
// may be moved by the guest: decoding follows the BAR registers and the
// command register's memory bit.
class PciRoot : public DeviceState {
  public:
    // (map_memory) maps device-memory BARs; (on_reset) is called for a reset
    // through port 0xcf9.
    PciRoot(DeviceMemoryMapper map_memory, std::function<void()> on_reset);

    std::string_view name() const override { return "pci"; }
    Json Save() const override;
    Status Restore(const Json& state) override;
    Status Restored() override;
    void Reset() override;

    // Places (function) at device (slot) of bus 0. Refuses a taken slot or one
    // past 31. Call before the vCPUs start.
    Status Attach(uint8_t slot, std::shared_ptr<PciFunction> function);
    // (size) bytes (a power of two >= 4 KiB) of the MMIO window, aligned to
    // (size), from the allocator above hvchan's fixed BARs.
    Result<uint32_t> AllocateMmio(uint32_t size);

    // Port access at (offset) of 0xcf8..0xcff.
    void PortRead(uint64_t offset, std::span<uint8_t> data);
    void PortWrite(uint64_t offset, std::span<const uint8_t> data);
    // MMIO access at (gpa) inside the window.
    void WindowRead(uint64_t gpa, std::span<uint8_t> data);
    void WindowWrite(uint64_t gpa, std::span<const uint8_t> data);

    // The bus devices that put the root on the machine's buses.
    std::shared_ptr<Device> ports();
    std::shared_ptr<Device> window();

    // Recomputes BAR decoding and device-memory mappings from the functions'
    // config spaces (after a config write, a restore or a reset).
    Status Redecode();

  private:
    struct Decoded {
        uint64_t base;
        uint64_t size;
        std::shared_ptr<PciFunction> function;
        int bar;
    };
    struct MemoryMapping {
        uint8_t slot;
        int bar;
        uint64_t gpa = 0;  // 0 = not mapped
    };
    // Function and config offset the latched address selects, or nullptr.
    std::shared_ptr<PciFunction> Selected(uint16_t* offset) const;
    std::optional<Decoded> Lookup(uint64_t gpa, uint64_t len) const;

    DeviceMemoryMapper map_memory_;
    std::function<void()> on_reset_;
    std::array<std::shared_ptr<PciFunction>, pci::kMaxSlots> slots_{};
    std::vector<MemoryMapping> memory_maps_;
    uint32_t next_mmio_;

    mutable std::mutex config_mu_;  // the address latch and config accesses
    uint32_t address_ = 0;          // 0xcf8
    uint8_t reset_control_ = 0;     // 0xcf9

    mutable std::shared_mutex decode_mu_;
    std::vector<Decoded> decoded_;
};

// The host bridge function at 00:00.0: class 0x0600, no BARs.
std::shared_ptr<PciFunction> MakeHostBridge();

}  // namespace hvkit::hvmm
