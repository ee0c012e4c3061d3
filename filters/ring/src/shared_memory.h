// The only ways this library touches fields of the shared region.
//
// The other side writes the region whenever it likes, so a field is read
// exactly once, with an atomic load, into private memory: the compiler may
// neither read it twice nor tear it, and every check afterwards applies to
// the private copy. Indexes are published with release stores and read with
// acquire loads, so entries and bytes written before an index store are
// visible to whoever reads that index. Callers pass addresses inside the
// region, aligned for T (the layout guarantees it).
#pragma once

#include <atomic>
#include <cstdint>
#include <cstring>

namespace hvkit::filter_ring::shared {

template <typename T>
T Load(const uint8_t* at, std::memory_order order = std::memory_order_relaxed) {
    static_assert(std::atomic_ref<T>::is_always_lock_free);
    return std::atomic_ref<T>(*reinterpret_cast<T*>(const_cast<uint8_t*>(at))).load(order);
}

template <typename T>
void Store(uint8_t* at, T value, std::memory_order order = std::memory_order_relaxed) {
    static_assert(std::atomic_ref<T>::is_always_lock_free);
    std::atomic_ref<T>(*reinterpret_cast<T*>(at)).store(value, order);
}

// Orders this side's earlier stores before its later loads (and the
// reverse). The doorbell handshake needs it on both sides: "store my index
// or flag, then read the other's" must not be reordered into "read, then
// store", or a kick is lost.
inline void FullFence() {
    std::atomic_thread_fence(std::memory_order_seq_cst);
}

// Copies (length) bytes out of the region into private memory. A concurrent
// write by the other side can only change what is copied, never where; the
// copy is all the caller uses afterwards.
inline void CopyOut(uint8_t* to, const uint8_t* from, size_t length) {
    if (length != 0) std::memcpy(to, from, length);
}

// Copies private bytes into the region (not yet published).
inline void CopyIn(uint8_t* to, const uint8_t* from, size_t length) {
    if (length != 0) std::memcpy(to, from, length);
}

}  // namespace hvkit::filter_ring::shared
