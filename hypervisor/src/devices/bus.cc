// Address ranges -> devices, for port I/O and for MMIO alike.
#include <cstring>

#include "hvmm.h"

namespace hvkit::hvmm {

Status Bus::Insert(uint64_t base, uint64_t size, std::shared_ptr<Device> device) {
    std::string what = std::string(device->name()) + " on the " + name_ + " bus";
    uint64_t end = 0;
    if (size == 0 || __builtin_add_overflow(base, size, &end)) {
        return Error(ErrorCode::kInvalidArgument, what + ": empty or wrapping range");
    }
    auto next = ranges_.lower_bound(base);
    if (next != ranges_.end() && next->first < end) {
        return Error(ErrorCode::kConflict,
                     what + " overlaps " + std::string(next->second.device->name()));
    }
    if (next != ranges_.begin()) {
        auto prev = std::prev(next);
        if (prev->first + prev->second.size > base) {
            return Error(ErrorCode::kConflict,
                         what + " overlaps " + std::string(prev->second.device->name()));
        }
    }
    ranges_.emplace(base, Range{size, std::move(device)});
    return Status::Ok();
}

const std::pair<const uint64_t, Bus::Range>* Bus::Find(uint64_t addr, uint64_t len) const {
    auto it = ranges_.upper_bound(addr);
    if (it == ranges_.begin()) return nullptr;
    --it;
    uint64_t offset = addr - it->first;
    // Both the first and the last byte must be inside; the sums cannot overflow
    // because offset < size and len is at most 8 (or a checked exit size).
    if (offset >= it->second.size || len > it->second.size - offset) return nullptr;
    return &*it;
}

bool Bus::Read(uint64_t addr, std::span<uint8_t> data) const {
    const auto* entry = Find(addr, data.size());
    if (entry == nullptr || data.empty()) {
        memset(data.data(), 0xff, data.size());
        return false;
    }
    entry->second.device->Read(addr - entry->first, data);
    return true;
}

bool Bus::Write(uint64_t addr, std::span<const uint8_t> data) const {
    const auto* entry = Find(addr, data.size());
    if (entry == nullptr || data.empty()) return false;
    entry->second.device->Write(addr - entry->first, data);
    return true;
}

}  // namespace hvkit::hvmm
