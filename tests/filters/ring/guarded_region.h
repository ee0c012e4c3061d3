// Test support for the filter ring tests: a region mapped between two
// inaccessible pages, so any read or write outside it faults and fails the
// test, and raw access to its ABI structs for playing a hostile peer.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "hvkit/filter_region.h"
#include "hvkit/filter_ring_abi.h"

namespace hvkit::filter_ring::testing {

class GuardedRegion {
  public:
    // Maps (size) bytes, rounded up to whole pages, with a PROT_NONE page on
    // either side. The region's last byte sits right before the upper guard
    // page when (size) is a whole number of pages.
    explicit GuardedRegion(size_t size);
    ~GuardedRegion();
    GuardedRegion(const GuardedRegion&) = delete;
    GuardedRegion& operator=(const GuardedRegion&) = delete;

    std::span<uint8_t> memory() { return {base_, size_}; }
    // A copy of every byte, to prove a call wrote nothing.
    std::vector<uint8_t> Snapshot() const { return {base_, base_ + size_}; }

  private:
    uint8_t* mapping_ = nullptr;
    size_t mapping_size_ = 0;
    uint8_t* base_ = nullptr;
    size_t size_ = 0;
};

// Small rings, so tests reach full rings and wrap-around quickly.
RegionParams SmallParams(uint32_t first_index = 0);

// Raw views of a formatted region, as a peer that ignores the rules sees it.
hvfilter_region_header& Header(const FilterRegion& region);
hvfilter_ring_control& Control(const FilterRegion& region, const RingGeometry& ring);
hvfilter_request& RequestSlot(const FilterRegion& region, uint32_t index);
hvfilter_verdict& VerdictSlot(const FilterRegion& region, uint32_t index);
uint8_t* VerdictData(const FilterRegion& region);

// Deterministic item bytes: (length) bytes derived from (seed).
std::vector<uint8_t> ItemBytes(uint64_t seed, size_t length);

}  // namespace hvkit::filter_ring::testing
