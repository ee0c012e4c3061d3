// What both ends of a channel share: the resolved layout of each direction
// and the placement rule for bytes in a data area.
#include "channel.h"

namespace hvkit::filter_ring {

namespace {

ChannelLayout MakeLayout(const FilterRegion& region, const RingGeometry& ring,
                         const AreaGeometry& area, const char* ring_name, const char* data_name) {
    ChannelLayout layout;
    layout.ring_name = ring_name;
    layout.data_name = data_name;
    layout.control = region.base + ring.offset;
    layout.entries = layout.control + HVFILTER_RING_ENTRIES_OFFSET;
    layout.entry_count = ring.entries;
    layout.entry_size = ring.entry_size;
    layout.start_index = ring.start_index;
    layout.data = region.base + area.offset;
    layout.data_size = area.size;
    return layout;
}

}  // namespace

ChannelLayout RequestChannel(const FilterRegion& region) {
    return MakeLayout(region, region.request_ring, region.request_data, "request ring",
                      "request data area");
}

ChannelLayout VerdictChannel(const FilterRegion& region) {
    return MakeLayout(region, region.verdict_ring, region.verdict_data, "verdict ring",
                      "verdict data area");
}

Placement PlaceBytes(uint64_t position, uint32_t length, uint32_t area_size) {
    if (length == 0) return Placement{position, 0};
    const uint64_t mask = area_size - 1;
    const uint64_t offset = position & mask;
    uint64_t start = position;
    if (offset + length > area_size) start += area_size - offset;  // pad to the area's start
    return Placement{start, static_cast<uint32_t>(start & mask)};
}

}  // namespace hvkit::filter_ring
