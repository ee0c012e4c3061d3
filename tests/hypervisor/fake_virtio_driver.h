// A virtio driver's side of a split virtqueue, written straight into guest
// memory, so tests can build honest and hostile rings alike.
#pragma once

#include <cstring>

#include "virtio/virtio.h"

namespace hvkit::hvmm::testing {

class FakeRing {
  public:
    // Rings for a queue of (size) entries at fixed addresses in (memory).
    static constexpr uint64_t kDesc = 0x10000;
    static constexpr uint64_t kAvail = 0x20000;
    static constexpr uint64_t kUsed = 0x30000;
    static constexpr uint64_t kData = 0x100000;  // buffers from here up

    FakeRing(GuestMemory& memory, uint16_t size) : memory_(memory), size_(size) {}

    // Points (queue) at these rings and enables it.
    void Configure(VirtQueue& queue, bool indirect = false) const {
        queue.state().size = size_;
        queue.state().desc = kDesc;
        queue.state().driver = kAvail;
        queue.state().device = kUsed;
        queue.set_indirect_allowed(indirect);
        queue.Enable();
    }

    // Descriptor (index) of the table at (table).
    void SetDesc(uint16_t index, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next,
                 uint64_t table = kDesc) {
        uint8_t raw[16];
        std::memcpy(raw, &addr, 8);
        std::memcpy(raw + 8, &len, 4);
        std::memcpy(raw + 12, &flags, 2);
        std::memcpy(raw + 14, &next, 2);
        Put(table + uint64_t{index} * 16, raw, 16);
    }

    // Adds (head) to the available ring and publishes it.
    void MakeAvailable(uint16_t head) {
        Put16(kAvail + 4 + uint64_t{static_cast<uint16_t>(avail_idx_ % size_)} * 2, head);
        SetAvailIdx(static_cast<uint16_t>(avail_idx_ + 1));
    }
    void SetAvailIdx(uint16_t idx) {
        avail_idx_ = idx;
        Put16(kAvail + 2, idx);
    }
    void SetAvailFlags(uint16_t flags) { Put16(kAvail, flags); }

    uint16_t UsedIdx() const { return Get16(kUsed + 2); }
    // Used element (i): {id, len}.
    std::pair<uint32_t, uint32_t> Used(uint16_t i) const {
        uint8_t raw[8];
        EXPECT_TRUE(
            memory_.Read(kUsed + 4 + uint64_t{static_cast<uint16_t>(i % size_)} * 8, raw).ok());
        uint32_t id, len;
        std::memcpy(&id, raw, 4);
        std::memcpy(&len, raw + 4, 4);
        return {id, len};
    }

    void Put(uint64_t gpa, const void* bytes, size_t len) {
        EXPECT_TRUE(
            memory_.Write(gpa, std::span<const uint8_t>(static_cast<const uint8_t*>(bytes), len))
                .ok());
    }
    void Put16(uint64_t gpa, uint16_t v) { Put(gpa, &v, 2); }
    uint16_t Get16(uint64_t gpa) const {
        uint16_t v = 0;
        EXPECT_TRUE(memory_.Read(gpa, std::span<uint8_t>(reinterpret_cast<uint8_t*>(&v), 2)).ok());
        return v;
    }
    std::vector<uint8_t> Get(uint64_t gpa, size_t len) const {
        std::vector<uint8_t> out(len);
        EXPECT_TRUE(memory_.Read(gpa, out).ok());
        return out;
    }
    uint16_t size() const { return size_; }

  private:
    GuestMemory& memory_;
    uint16_t size_;
    uint16_t avail_idx_ = 0;
};

}  // namespace hvkit::hvmm::testing
