// The geometry rules Format obeys and Attach enforces, in one place.
#pragma once

#include <cstdint>

#include "hvkit/filter_ring_abi.h"

namespace hvkit::filter_ring {

inline bool IsPowerOfTwo(uint64_t value) {
    return value != 0 && (value & (value - 1)) == 0;
}

inline bool ValidEntryCount(uint64_t entries) {
    return IsPowerOfTwo(entries) && entries <= HVFILTER_MAX_RING_ENTRIES;
}

inline bool ValidDataAreaSize(uint64_t size) {
    return IsPowerOfTwo(size) && size >= HVFILTER_MIN_DATA_AREA && size <= HVFILTER_MAX_DATA_AREA;
}

// Bytes of a ring's control block and entries.
inline uint64_t RingBytes(uint64_t entries, uint64_t entry_size) {
    return HVFILTER_RING_ENTRIES_OFFSET + entries * entry_size;
}

}  // namespace hvkit::filter_ring
