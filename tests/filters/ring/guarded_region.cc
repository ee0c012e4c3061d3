#include "guarded_region.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cstdlib>

namespace hvkit::filter_ring::testing {

GuardedRegion::GuardedRegion(size_t size) {
    const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
    size_ = (size + page - 1) / page * page;
    mapping_size_ = size_ + 2 * page;
    void* mapping = mmap(nullptr, mapping_size_, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mapping == MAP_FAILED) std::abort();
    mapping_ = static_cast<uint8_t*>(mapping);
    base_ = mapping_ + page;
    if (mprotect(base_, size_, PROT_READ | PROT_WRITE) != 0) std::abort();
}

GuardedRegion::~GuardedRegion() {
    munmap(mapping_, mapping_size_);
}

RegionParams SmallParams(uint32_t first_index) {
    RegionParams params;
    params.request_entries = 8;
    params.verdict_entries = 8;
    params.request_data_size = 1024;
    params.verdict_data_size = 1024;
    params.first_index = first_index;
    return params;
}

hvfilter_region_header& Header(const FilterRegion& region) {
    return *reinterpret_cast<hvfilter_region_header*>(region.base);
}

hvfilter_ring_control& Control(const FilterRegion& region, const RingGeometry& ring) {
    return *reinterpret_cast<hvfilter_ring_control*>(region.base + ring.offset);
}

hvfilter_request& RequestSlot(const FilterRegion& region, uint32_t index) {
    const RingGeometry& ring = region.request_ring;
    auto* entries = reinterpret_cast<hvfilter_request*>(region.base + ring.offset +
                                                        HVFILTER_RING_ENTRIES_OFFSET);
    return entries[index & (ring.entries - 1)];
}

hvfilter_verdict& VerdictSlot(const FilterRegion& region, uint32_t index) {
    const RingGeometry& ring = region.verdict_ring;
    auto* entries = reinterpret_cast<hvfilter_verdict*>(region.base + ring.offset +
                                                        HVFILTER_RING_ENTRIES_OFFSET);
    return entries[index & (ring.entries - 1)];
}

uint8_t* VerdictData(const FilterRegion& region) {
    return region.base + region.verdict_data.offset;
}

std::vector<uint8_t> ItemBytes(uint64_t seed, size_t length) {
    std::vector<uint8_t> bytes(length);
    uint64_t state = seed * 0x9e3779b97f4a7c15ull + 1;
    for (auto& byte : bytes) {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        byte = static_cast<uint8_t>(state);
    }
    return bytes;
}

}  // namespace hvkit::filter_ring::testing
