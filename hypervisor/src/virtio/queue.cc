// The split virtqueue (virtio 1.x, 2.7): taking available chains and
// publishing used ones, every access through GuestMemory::Slice.
#include <atomic>
#include <cstdio>
#include <cstring>

#include "virtio/virtio.h"

namespace hvkit::hvmm {

namespace {

constexpr uint64_t kDescSize = 16;
constexpr uint64_t kUsedElemSize = 8;

std::string Hex(uint64_t v) {
    char buf[24];
    snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(v));
    return buf;
}

uint16_t Load16(const uint8_t* p) {
    uint16_t v;
    std::memcpy(&v, p, sizeof v);
    return v;
}

}  // namespace

VirtQueue::VirtQueue(GuestMemory& memory, uint16_t max_size)
    : memory_(memory), max_size_(max_size) {
    state_.size = max_size;
}

void VirtQueue::Reset() {
    state_ = QueueState{};
    state_.size = max_size_;
    pushed_ = false;
    error_.clear();
    indirect_allowed_ = false;
}

void VirtQueue::RestoreState(const QueueState& state) {
    state_ = state;
    pushed_ = false;
    error_ = state.broken ? "the queue was broken when its state was saved" : "";
}

std::nullopt_t VirtQueue::Break(std::string why) {
    if (!state_.broken) {
        state_.broken = true;
        error_ = std::move(why);
    }
    return std::nullopt;
}

void VirtQueue::Enable() {
    state_.enabled = true;
    uint16_t size = state_.size;
    if (size == 0 || size > max_size_ || (size & (size - 1)) != 0) {
        Break("queue size " + std::to_string(size) + " is not a power of two up to " +
              std::to_string(max_size_));
    } else if (state_.desc % 16 != 0 || state_.driver % 2 != 0 || state_.device % 4 != 0) {
        Break("ring addresses are misaligned (descriptors 16, available 2, used 4 bytes)");
    }
}

std::optional<uint16_t> VirtQueue::AvailIdx() {
    auto idx = memory_.Slice(state_.driver + 2, 2);
    if (!idx.ok()) return Break("the available ring is outside guest RAM");
    // Acquire: the ring entries the driver wrote before the index are seen.
    std::atomic_ref<uint16_t> ref(*reinterpret_cast<uint16_t*>(idx->data()));
    return ref.load(std::memory_order_acquire);
}

bool VirtQueue::HasAvailable() {
    if (state_.broken || !state_.enabled) return false;
    auto idx = AvailIdx();
    if (!idx) return false;
    uint16_t pending = static_cast<uint16_t>(*idx - state_.next_avail);
    if (pending > state_.size) {
        Break("the available index ran " + std::to_string(pending) +
              " entries ahead, more than the queue size " + std::to_string(state_.size));
        return false;
    }
    return pending != 0;
}

std::optional<VirtQueue::Desc> VirtQueue::ReadDesc(uint64_t table, uint32_t count, uint32_t index) {
    if (index >= count) {
        return Break("descriptor index " + std::to_string(index) + " is out of range (table of " +
                     std::to_string(count) + ")");
    }
    auto bytes = memory_.Slice(table + uint64_t{index} * kDescSize, kDescSize);
    if (!bytes.ok()) return Break("a descriptor table is outside guest RAM");
    // One copy: a driver rewriting the descriptor now changes nothing.
    uint8_t raw[kDescSize];
    std::memcpy(raw, bytes->data(), kDescSize);
    Desc d;
    std::memcpy(&d.addr, raw, 8);
    std::memcpy(&d.len, raw + 8, 4);
    std::memcpy(&d.flags, raw + 12, 2);
    std::memcpy(&d.next, raw + 14, 2);
    return d;
}

bool VirtQueue::AddBuffer(DescriptorChain& chain, const Desc& d) {
    bool writable = d.flags & virtio::kDescWrite;
    if (!writable && chain.writable_bytes != 0) {
        Break("a device-readable buffer follows a device-writable one");
        return false;
    }
    if (chain.buffers.size() >= kMaxChainBuffers) {
        Break("a descriptor chain has more than " + std::to_string(kMaxChainBuffers) + " buffers");
        return false;
    }
    if (d.len == 0) return true;  // nothing to touch
    if (!memory_.Slice(d.addr, d.len).ok()) {
        Break("a buffer of " + std::to_string(d.len) + " bytes at guest address " + Hex(d.addr) +
              " is outside guest RAM");
        return false;
    }
    chain.buffers.push_back({d.addr, d.len, writable});
    (writable ? chain.writable_bytes : chain.readable_bytes) += d.len;
    return true;
}

std::optional<DescriptorChain> VirtQueue::Pop() {
    if (!HasAvailable()) return std::nullopt;
    uint16_t slot = state_.next_avail % state_.size;
    auto entry = memory_.Slice(state_.driver + 4 + uint64_t{slot} * 2, 2);
    if (!entry.ok()) return Break("the available ring is outside guest RAM");
    DescriptorChain chain;
    chain.head = Load16(entry->data());

    uint32_t index = chain.head;
    // A chain visits each descriptor at most once; more steps mean a loop.
    for (uint32_t steps = 0;; ++steps) {
        if (steps >= state_.size) return Break("a descriptor chain loops (longer than the queue)");
        auto d = ReadDesc(state_.desc, state_.size, index);
        if (!d) return std::nullopt;
        if (d->flags & virtio::kDescIndirect) {
            if (!indirect_allowed_) return Break("an indirect descriptor was not negotiated");
            if (d->flags & virtio::kDescNext) {
                return Break("an indirect descriptor also has the NEXT flag");
            }
            if (d->len == 0 || d->len % kDescSize != 0 || d->len / kDescSize > kMaxChainBuffers) {
                return Break("an indirect table of " + std::to_string(d->len) +
                             " bytes is not a whole number of descriptors up to " +
                             std::to_string(kMaxChainBuffers));
            }
            uint32_t count = d->len / kDescSize;
            if (!memory_.Slice(d->addr, d->len).ok()) {
                return Break("an indirect table is outside guest RAM");
            }
            uint32_t inner = 0;
            for (uint32_t inner_steps = 0;; ++inner_steps) {
                if (inner_steps >= count) return Break("an indirect descriptor chain loops");
                auto id = ReadDesc(d->addr, count, inner);
                if (!id) return std::nullopt;
                if (id->flags & virtio::kDescIndirect) {
                    return Break("an indirect table holds another indirect descriptor");
                }
                if (!AddBuffer(chain, *id)) return std::nullopt;
                if (!(id->flags & virtio::kDescNext)) break;
                inner = id->next;
            }
            break;  // an indirect descriptor is the chain's last
        }
        if (!AddBuffer(chain, *d)) return std::nullopt;
        if (!(d->flags & virtio::kDescNext)) break;
        index = d->next;
    }
    ++state_.next_avail;
    return chain;
}

void VirtQueue::Unpop() {
    --state_.next_avail;
}

void VirtQueue::Push(uint16_t head, uint32_t written) {
    if (state_.broken) return;
    uint16_t slot = state_.next_used % state_.size;
    auto elem = memory_.Slice(state_.device + 4 + uint64_t{slot} * kUsedElemSize, kUsedElemSize);
    auto idx = memory_.Slice(state_.device + 2, 2);
    if (!elem.ok() || !idx.ok()) {
        Break("the used ring is outside guest RAM");
        return;
    }
    uint32_t id = head;
    std::memcpy(elem->data(), &id, 4);
    std::memcpy(elem->data() + 4, &written, 4);
    ++state_.next_used;
    // Release: the element is visible before the index that publishes it.
    std::atomic_ref<uint16_t> ref(*reinterpret_cast<uint16_t*>(idx->data()));
    ref.store(state_.next_used, std::memory_order_release);
    pushed_ = true;
}

bool VirtQueue::TakeInterrupt() {
    if (!pushed_) return false;
    pushed_ = false;
    // The used index store must be visible before the driver's flags are
    // read, or a driver re-enabling interrupts in between is missed.
    std::atomic_thread_fence(std::memory_order_seq_cst);
    auto flags = memory_.Slice(state_.driver, 2);
    if (!flags.ok()) {
        Break("the available ring is outside guest RAM");
        return false;
    }
    return !(Load16(flags->data()) & virtio::kAvailNoInterrupt);
}

}  // namespace hvkit::hvmm
