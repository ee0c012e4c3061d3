// Bus 0 of the PCI root complex: configuration mechanism #1, BAR decoding in
// the 32-bit MMIO window, and device memory that follows its BAR.
#include <cstring>

#include "arch/x86_64/layout.h"
#include "pci/pci.h"

namespace hvkit::hvmm {

namespace {

constexpr uint32_t kAddressEnable = 1u << 31;
constexpr uint64_t kPortAddress = 0;             // 0xcf8, 32-bit
constexpr uint64_t kPortResetControl = 1;        // 0xcf9, 8-bit
constexpr uint64_t kPortData = 4;                // 0xcfc..0xcff
constexpr uint8_t kResetControlReset = 1u << 2;  // RST_CPU: reset on this write
constexpr uint8_t kResetControlMask = 0x0e;      // SYS_RST | RST_CPU | FULL_RST (bit 0 reserved)
constexpr int64_t kStateVersion = 1;

uint32_t LoadLe(std::span<const uint8_t> data) {
    uint32_t value = 0;
    for (size_t i = 0; i < data.size() && i < 4; ++i) value |= uint32_t{data[i]} << (8 * i);
    return value;
}

void StoreLe(std::span<uint8_t> data, uint32_t value) {
    for (size_t i = 0; i < data.size(); ++i)
        data[i] = i < 4 ? static_cast<uint8_t>(value >> (8 * i)) : 0xff;
}

// Whether a config write at (offset, size) touches the command register or a BAR.
bool AffectsDecoding(uint16_t offset, size_t size) {
    auto overlaps = [&](uint16_t begin, uint16_t end) {
        return offset < end && offset + size > begin;
    };
    return overlaps(pci::kCommand, pci::kCommand + 2) ||
           overlaps(pci::kBar0, pci::kBar0 + 4 * pci::kBarCount);
}

bool InsideWindow(uint64_t base, uint64_t size) {
    return base >= layout::kPciMmio32Start && size <= layout::kPciMmio32Size &&
           base - layout::kPciMmio32Start <= layout::kPciMmio32Size - size;
}

// The root's two faces on the machine's buses.
class RootPorts final : public Device {
  public:
    explicit RootPorts(PciRoot* root) : root_(root) {}
    std::string_view name() const override { return "pci-ports"; }
    void Read(uint64_t offset, std::span<uint8_t> data) override { root_->PortRead(offset, data); }
    void Write(uint64_t offset, std::span<const uint8_t> data) override {
        root_->PortWrite(offset, data);
    }
    // The root saves its own state; these faces have none.
    Json Save() const override { return Json::MakeObject(); }
    Status Restore(const Json&) override { return Status::Ok(); }
    void Reset() override {}

  private:
    PciRoot* root_;
};

class RootWindow final : public Device {
  public:
    explicit RootWindow(PciRoot* root) : root_(root) {}
    std::string_view name() const override { return "pci-window"; }
    void Read(uint64_t offset, std::span<uint8_t> data) override {
        root_->WindowRead(layout::kPciMmio32Start + offset, data);
    }
    void Write(uint64_t offset, std::span<const uint8_t> data) override {
        root_->WindowWrite(layout::kPciMmio32Start + offset, data);
    }
    Json Save() const override { return Json::MakeObject(); }
    Status Restore(const Json&) override { return Status::Ok(); }
    void Reset() override {}

  private:
    PciRoot* root_;
};

}  // namespace

PciRoot::PciRoot(DeviceMemoryMapper map_memory, std::function<void()> on_reset)
    : map_memory_(std::move(map_memory)),
      on_reset_(std::move(on_reset)),
      next_mmio_(static_cast<uint32_t>(layout::kPciMmio32AllocStart)) {}

std::shared_ptr<Device> PciRoot::ports() {
    return std::make_shared<RootPorts>(this);
}

std::shared_ptr<Device> PciRoot::window() {
    return std::make_shared<RootWindow>(this);
}

Status PciRoot::Attach(uint8_t slot, std::shared_ptr<PciFunction> function) {
    std::string what =
        "PCI slot " + std::to_string(slot) + " (" + std::string(function->name()) + ")";
    if (slot >= pci::kMaxSlots) return Error(ErrorCode::kInvalidArgument, what + ": past slot 31");
    if (slots_[slot] != nullptr) {
        return Error(ErrorCode::kConflict,
                     what + ": taken by " + std::string(slots_[slot]->name()));
    }
    for (int bar = 0; bar < pci::kBarCount; ++bar) {
        if (!function->BarMemory(bar).empty()) {
            memory_maps_.push_back({static_cast<uint8_t>(slot), bar, 0});
        }
    }
    slots_[slot] = std::move(function);
    return Redecode();
}

Result<uint32_t> PciRoot::AllocateMmio(uint32_t size) {
    if (size < 4096 || (size & (size - 1)) != 0) {
        return Error(ErrorCode::kInvalidArgument,
                     "PCI BAR size " + std::to_string(size) + " is not a power of two >= 4096");
    }
    uint64_t base = (uint64_t{next_mmio_} + size - 1) & ~uint64_t{size - 1};
    if (!InsideWindow(base, size)) {
        return Error(ErrorCode::kTooLarge, "the PCI MMIO window has no room for a BAR of " +
                                               std::to_string(size) + " bytes");
    }
    next_mmio_ = static_cast<uint32_t>(base + size);
    return static_cast<uint32_t>(base);
}

std::shared_ptr<PciFunction> PciRoot::Selected(uint16_t* offset) const {
    if (!(address_ & kAddressEnable)) return nullptr;
    uint32_t bus = (address_ >> 16) & 0xff;
    uint32_t device = (address_ >> 11) & 0x1f;
    uint32_t function = (address_ >> 8) & 0x7;
    if (bus != 0 || function != 0) return nullptr;
    *offset = static_cast<uint16_t>(address_ & 0xfc);
    return slots_[device];
}

void PciRoot::PortRead(uint64_t offset, std::span<uint8_t> data) {
    std::lock_guard lock(config_mu_);
    if (offset == kPortAddress && data.size() == 4) {
        StoreLe(data, address_);
        return;
    }
    if (offset == kPortResetControl && data.size() == 1) {
        data[0] = reset_control_;
        return;
    }
    uint16_t reg = 0;
    std::shared_ptr<PciFunction> fn;
    if (offset >= kPortData && offset + data.size() <= kPortData + 4) fn = Selected(&reg);
    if (fn == nullptr) {
        memset(data.data(), 0xff, data.size());
        return;
    }
    StoreLe(data, fn->ConfigRead(static_cast<uint16_t>(reg + offset - kPortData), data.size()));
}

void PciRoot::PortWrite(uint64_t offset, std::span<const uint8_t> data) {
    std::function<void()> reset;
    {
        std::lock_guard lock(config_mu_);
        if (offset == kPortAddress && data.size() == 4) {
            address_ = LoadLe(data) & 0x80fffffc;
            return;
        }
        if (offset == kPortResetControl && data.size() == 1) {
            reset_control_ = data[0] & kResetControlMask;
            if (data[0] & kResetControlReset) reset = on_reset_;
        } else {
            uint16_t reg = 0;
            std::shared_ptr<PciFunction> fn;
            if (offset >= kPortData && offset + data.size() <= kPortData + 4) fn = Selected(&reg);
            if (fn == nullptr) return;
            uint16_t at = static_cast<uint16_t>(reg + offset - kPortData);
            fn->ConfigWrite(at, data.size(), LoadLe(data));
            // A guest that moves BARs onto each other only loses that mapping;
            // the refusal is not the guest's to see.
            if (AffectsDecoding(at, data.size())) (void)Redecode();
        }
    }
    if (reset) reset();
}

std::optional<PciRoot::Decoded> PciRoot::Lookup(uint64_t gpa, uint64_t len) const {
    std::shared_lock lock(decode_mu_);
    for (const Decoded& d : decoded_) {
        if (gpa >= d.base && gpa - d.base < d.size && len <= d.size - (gpa - d.base)) return d;
    }
    return std::nullopt;
}

void PciRoot::WindowRead(uint64_t gpa, std::span<uint8_t> data) {
    auto d = Lookup(gpa, data.size());
    if (!d) {
        memset(data.data(), 0xff, data.size());
        return;
    }
    d->function->BarRead(d->bar, gpa - d->base, data);
}

void PciRoot::WindowWrite(uint64_t gpa, std::span<const uint8_t> data) {
    auto d = Lookup(gpa, data.size());
    if (d) d->function->BarWrite(d->bar, gpa - d->base, data);
}

Status PciRoot::Redecode() {
    std::vector<Decoded> decoded;
    Status result = Status::Ok();
    std::unique_lock lock(decode_mu_);
    uint32_t map_index = 0;
    for (int slot = 0; slot < pci::kMaxSlots; ++slot) {
        const auto& fn = slots_[slot];
        if (fn == nullptr) continue;
        PciConfigSpace config = fn->ConfigSnapshot();
        for (int bar = 0; bar < pci::kBarCount; ++bar) {
            uint64_t size = config.bar_size(bar);
            if (size == 0) continue;
            uint64_t base = config.bar_address(bar);
            bool decodes = config.memory_enabled() && base != 0 && InsideWindow(base, size);
            std::span<uint8_t> memory = fn->BarMemory(bar);
            if (memory.empty()) {
                if (decodes) decoded.push_back({base, size, fn, bar});
                continue;
            }
            // Device memory: a KVM slot at the BAR while it decodes.
            uint32_t kvm_slot = Vm::kDeviceMemorySlotBase + map_index;
            MemoryMapping& m = memory_maps_[map_index++];
            uint64_t want = decodes ? base : 0;
            if (want == m.gpa) continue;
            if (m.gpa != 0) {
                Status st = map_memory_(kvm_slot, m.gpa, 0, memory.data());
                if (!st.ok()) result = st;
                m.gpa = 0;
            }
            if (want != 0) {
                Status st = map_memory_(kvm_slot, want, std::min<uint64_t>(size, memory.size()),
                                        memory.data());
                if (st.ok()) {
                    m.gpa = want;
                } else {
                    result = st.WithContext(std::string(fn->name()) + " BAR" + std::to_string(bar));
                }
            }
        }
    }
    decoded_ = std::move(decoded);
    return result;
}

Json PciRoot::Save() const {
    std::lock_guard lock(config_mu_);
    Json state = Json::MakeObject();
    state["version"] = Json(kStateVersion);
    state["address"] = Json(static_cast<int64_t>(address_));
    state["reset_control"] = Json(static_cast<int64_t>(reset_control_));
    return state;
}

Status PciRoot::Restore(const Json& state) {
    HVKIT_RETURN_IF_ERROR(CheckStateVersion(state, kStateVersion, "pci"));
    const Json* address = state.Find("address");
    if (address == nullptr || !address->is_int() || address->as_int() < 0 ||
        address->as_int() > 0xffffffffll) {
        return Error(ErrorCode::kMalformed, "pci: \"address\" must be a 32-bit value");
    }
    HVKIT_ASSIGN_OR_RETURN(uint8_t reset_control, StateByte(state, "reset_control", "pci"));
    {
        std::lock_guard lock(config_mu_);
        address_ = static_cast<uint32_t>(address->as_int()) & 0x80fffffc;
        reset_control_ = reset_control & kResetControlMask;
    }
    // The functions restore their own config spaces (they are devices too);
    // Restored() re-decodes once they all have.
    return Status::Ok();
}

Status PciRoot::Restored() {
    return Redecode();
}

void PciRoot::Reset() {
    {
        std::lock_guard lock(config_mu_);
        address_ = 0;
        reset_control_ = 0;
    }
    (void)Redecode();
}

}  // namespace hvkit::hvmm
