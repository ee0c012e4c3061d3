// MSI-X (PCI Local Bus 3.0, 6.8.2): the capability, the vector table and
// pending bits in a BAR, and delivery through the VM.
#include <cstdlib>
#include <cstring>

#include "pci/pci.h"

namespace hvkit::hvmm {

namespace {

constexpr uint16_t kControlEnable = 1u << 15;
constexpr uint16_t kControlFunctionMask = 1u << 14;
constexpr uint32_t kVectorMasked = 1u;
constexpr int64_t kStateVersion = 1;

uint64_t Load(std::span<const uint8_t> data) {
    uint64_t value = 0;
    for (size_t i = 0; i < data.size(); ++i) value |= uint64_t{data[i]} << (8 * i);
    return value;
}

void Store(std::span<uint8_t> data, uint64_t value) {
    for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<uint8_t>(value >> (8 * i));
}

}  // namespace

MsixVectors::MsixVectors(uint16_t count, MsiSink sink)
    : count_(count), sink_(std::move(sink)), entries_(count), pending_(count) {
    if (count == 0 || count > 2048) abort();
}

void MsixVectors::AddCapability(PciConfigSpace& config, int bar, uint32_t table_offset,
                                uint32_t pba_offset) {
    if (table_offset % 8 != 0 || pba_offset % 8 != 0) abort();
    uint16_t control = static_cast<uint16_t>(count_ - 1);
    uint32_t table = table_offset | static_cast<uint32_t>(bar);
    uint32_t pba = pba_offset | static_cast<uint32_t>(bar);
    uint8_t body[10] = {
        static_cast<uint8_t>(control),     static_cast<uint8_t>(control >> 8),
        static_cast<uint8_t>(table),       static_cast<uint8_t>(table >> 8),
        static_cast<uint8_t>(table >> 16), static_cast<uint8_t>(table >> 24),
        static_cast<uint8_t>(pba),         static_cast<uint8_t>(pba >> 8),
        static_cast<uint8_t>(pba >> 16),   static_cast<uint8_t>(pba >> 24),
    };
    uint8_t writable[10] = {0, (kControlEnable | kControlFunctionMask) >> 8};
    cap_offset_ = config.AddCapability(pci::kCapMsix, body, writable);
    config_ = &config;
    table_offset_ = table_offset;
    pba_offset_ = pba_offset;
}

bool MsixVectors::enabled() const {
    return config_ != nullptr && (config_->Read(cap_offset_ + 2, 2) & kControlEnable);
}

bool MsixVectors::function_masked() const {
    return config_ == nullptr || (config_->Read(cap_offset_ + 2, 2) & kControlFunctionMask);
}

bool MsixVectors::BarRead(uint64_t offset, std::span<uint8_t> data) const {
    size_t len = data.size();
    if (offset >= table_offset_ && offset - table_offset_ < table_size()) {
        uint64_t rel = offset - table_offset_;
        const Entry& e = entries_[rel / kEntrySize];
        uint64_t field = rel % kEntrySize;
        if ((len != 4 && len != 8) || field % len != 0) {
            memset(data.data(), 0xff, len);
        } else {
            uint32_t words[4] = {static_cast<uint32_t>(e.address),
                                 static_cast<uint32_t>(e.address >> 32), e.data, e.control};
            uint64_t value = words[field / 4];
            if (len == 8) value |= uint64_t{words[field / 4 + 1]} << 32;
            Store(data, value);
        }
        return true;
    }
    if (offset >= pba_offset_ && offset - pba_offset_ < pba_size()) {
        uint64_t rel = offset - pba_offset_;
        if ((len != 4 && len != 8) || rel % len != 0) {
            memset(data.data(), 0xff, len);
            return true;
        }
        uint64_t value = 0;
        for (size_t bit = 0; bit < len * 8; ++bit) {
            size_t vector = rel * 8 + bit;
            if (vector < count_ && pending_[vector]) value |= uint64_t{1} << bit;
        }
        Store(data, value);
        return true;
    }
    return false;
}

bool MsixVectors::BarWrite(uint64_t offset, std::span<const uint8_t> data) {
    size_t len = data.size();
    if (offset >= pba_offset_ && offset - pba_offset_ < pba_size()) return true;  // read-only
    if (offset < table_offset_ || offset - table_offset_ >= table_size()) return false;
    uint64_t rel = offset - table_offset_;
    uint64_t field = rel % kEntrySize;
    if ((len != 4 && len != 8) || field % len != 0) return true;  // ignored
    uint16_t vector = static_cast<uint16_t>(rel / kEntrySize);
    Entry& e = entries_[vector];
    uint64_t value = Load(data);
    for (size_t word = field / 4; word < field / 4 + len / 4; ++word, value >>= 32) {
        uint32_t v = static_cast<uint32_t>(value);
        switch (word) {
            case 0:
                e.address = (e.address & ~uint64_t{0xffffffff}) | v;
                break;
            case 1:
                e.address = (e.address & 0xffffffff) | (uint64_t{v} << 32);
                break;
            case 2:
                e.data = v;
                break;
            case 3:
                e.control = v & kVectorMasked;
                break;
        }
    }
    if (!(e.control & kVectorMasked) && pending_[vector] && enabled() && !function_masked()) {
        pending_[vector] = false;
        sink_(e.address, e.data);
    }
    return true;
}

void MsixVectors::ConfigWritten() {
    DeliverPending();
}

void MsixVectors::DeliverPending() {
    if (!enabled() || function_masked()) return;
    for (uint16_t v = 0; v < count_; ++v) {
        if (pending_[v] && !(entries_[v].control & kVectorMasked)) {
            pending_[v] = false;
            sink_(entries_[v].address, entries_[v].data);
        }
    }
}

void MsixVectors::Notify(uint16_t vector) {
    if (vector >= count_ || !enabled()) return;
    const Entry& e = entries_[vector];
    if (function_masked() || (e.control & kVectorMasked)) {
        pending_[vector] = true;
        return;
    }
    sink_(e.address, e.data);
}

Json MsixVectors::Save() const {
    Json state = Json::MakeObject();
    state["version"] = Json(kStateVersion);
    Json entries = Json::MakeArray();
    for (uint16_t v = 0; v < count_; ++v) {
        Json e = Json::MakeArray();
        e.as_array().push_back(Json(static_cast<int64_t>(entries_[v].address >> 32)));
        e.as_array().push_back(Json(static_cast<int64_t>(entries_[v].address & 0xffffffff)));
        e.as_array().push_back(Json(static_cast<int64_t>(entries_[v].data)));
        e.as_array().push_back(Json(static_cast<int64_t>(entries_[v].control)));
        e.as_array().push_back(Json(static_cast<bool>(pending_[v])));
        entries.as_array().push_back(std::move(e));
    }
    state["entries"] = std::move(entries);
    return state;
}

Status MsixVectors::Restore(const Json& state, std::string_view device) {
    std::string what = std::string(device) + " MSI-X";
    HVKIT_RETURN_IF_ERROR(CheckStateVersion(state, kStateVersion, what));
    const Json* entries = state.Find("entries");
    if (entries == nullptr || !entries->is_array() || entries->as_array().size() != count_) {
        return Error(ErrorCode::kMalformed,
                     what + ": \"entries\" must be an array of " + std::to_string(count_));
    }
    std::vector<Entry> restored(count_);
    std::vector<bool> pending(count_);
    for (uint16_t v = 0; v < count_; ++v) {
        const Json& e = entries->as_array()[v];
        if (!e.is_array() || e.as_array().size() != 5) {
            return Error(ErrorCode::kMalformed, what + ": entry " + std::to_string(v) +
                                                    " is not [addr_hi, addr_lo, data, control, "
                                                    "pending]");
        }
        const auto& f = e.as_array();
        uint32_t words[4];
        for (int i = 0; i < 4; ++i) {
            if (!f[i].is_int() || f[i].as_int() < 0 || f[i].as_int() > 0xffffffffll) {
                return Error(ErrorCode::kMalformed, what + ": entry " + std::to_string(v) +
                                                        " field " + std::to_string(i) +
                                                        " is not a 32-bit value");
            }
            words[i] = static_cast<uint32_t>(f[i].as_int());
        }
        if (!f[4].is_bool()) {
            return Error(ErrorCode::kMalformed,
                         what + ": entry " + std::to_string(v) + " pending is not a boolean");
        }
        restored[v] = {uint64_t{words[0]} << 32 | words[1], words[2], words[3] & kVectorMasked};
        pending[v] = f[4].as_bool();
    }
    entries_ = std::move(restored);
    pending_ = std::move(pending);
    return Status::Ok();
}

void MsixVectors::Reset() {
    entries_.assign(count_, Entry{});
    pending_.assign(count_, false);
}

}  // namespace hvkit::hvmm
