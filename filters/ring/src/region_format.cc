// Format: the host lays out a fresh region. Each part starts on its own page
// (the ABI asks only for HVFILTER_ALIGN) so the layout reads well in a dump.
#include <sys/random.h>

#include <cstddef>
#include <cstring>
#include <string>

#include "hvkit/filter_region.h"
#include "region_rules.h"
#include "shared_memory.h"

namespace hvkit::filter_ring {

namespace {

constexpr uint64_t kPartAlign = 4096;

uint64_t AlignUp(uint64_t value) {
    return (value + kPartAlign - 1) & ~(kPartAlign - 1);
}

Status CheckParams(const RegionParams& params) {
    auto bad = [](const char* name, uint32_t value, const std::string& rule) {
        return Error(ErrorCode::kInvalidArgument, std::string("filter region: ") + name + " " +
                                                      std::to_string(value) + " " + rule);
    };
    const std::string entries_rule =
        "must be a power of two up to " + std::to_string(HVFILTER_MAX_RING_ENTRIES);
    const std::string area_rule = "must be a power of two from " +
                                  std::to_string(HVFILTER_MIN_DATA_AREA) + " to " +
                                  std::to_string(HVFILTER_MAX_DATA_AREA);
    if (!ValidEntryCount(params.request_entries)) {
        return bad("request_entries", params.request_entries, entries_rule);
    }
    if (!ValidEntryCount(params.verdict_entries)) {
        return bad("verdict_entries", params.verdict_entries, entries_rule);
    }
    if (!ValidDataAreaSize(params.request_data_size)) {
        return bad("request_data_size", params.request_data_size, area_rule);
    }
    if (!ValidDataAreaSize(params.verdict_data_size)) {
        return bad("verdict_data_size", params.verdict_data_size, area_rule);
    }
    if (params.chain_table.size() > HVFILTER_MAX_CHAIN_TABLE) {
        return Error(ErrorCode::kInvalidArgument,
                     "filter region: chain table of " + std::to_string(params.chain_table.size()) +
                         " bytes exceeds " + std::to_string(HVFILTER_MAX_CHAIN_TABLE));
    }
    return Status::Ok();
}

// A random non-zero id for a new format, so a guest tells formats apart even
// across hvfilterd restarts.
uint64_t NewFormatId() {
    uint64_t id = 0;
    while (id == 0) {
        if (getrandom(&id, sizeof id, 0) != static_cast<ssize_t>(sizeof id)) id = 0;
    }
    return id;
}

// The region's geometry for (params), already checked.
FilterRegion LayOut(const RegionParams& params) {
    FilterRegion region;
    region.abi_minor = HVFILTER_ABI_MINOR;
    uint64_t next = AlignUp(sizeof(hvfilter_region_header));
    auto ring = [&](uint32_t entries, uint32_t entry_size) {
        RingGeometry geometry{next, entries, entry_size, params.first_index};
        next = AlignUp(next + RingBytes(entries, entry_size));
        return geometry;
    };
    auto area = [&](uint32_t size) {
        AreaGeometry geometry{next, size};
        next = AlignUp(next + size);
        return geometry;
    };
    region.request_ring = ring(params.request_entries, sizeof(hvfilter_request));
    region.verdict_ring = ring(params.verdict_entries, sizeof(hvfilter_verdict));
    region.request_data = area(params.request_data_size);
    region.verdict_data = area(params.verdict_data_size);
    region.chain_table = params.chain_table;
    region.chain_table_offset = params.chain_table.empty() ? 0 : next;
    next = AlignUp(next + params.chain_table.size());
    region.size = next;
    return region;
}

hvfilter_ring_desc RingDesc(const RingGeometry& ring) {
    return hvfilter_ring_desc{ring.offset, ring.entries, ring.entry_size};
}

hvfilter_area_desc AreaDesc(const AreaGeometry& area) {
    return hvfilter_area_desc{area.offset, area.size};
}

void SetIndexes(uint8_t* control, uint32_t index) {
    shared::Store<uint32_t>(control + offsetof(hvfilter_ring_control, producer.producer_index),
                            index);
    shared::Store<uint32_t>(control + offsetof(hvfilter_ring_control, consumer.consumer_index),
                            index);
}

}  // namespace

Result<uint64_t> RequiredSize(const RegionParams& params) {
    HVKIT_RETURN_IF_ERROR(CheckParams(params));
    return LayOut(params).size;
}

Result<FilterRegion> Format(std::span<uint8_t> memory, const RegionParams& params) {
    HVKIT_RETURN_IF_ERROR(CheckParams(params));
    FilterRegion region = LayOut(params);
    if (memory.size() < region.size) {
        return Error(ErrorCode::kTooLarge, "filter region: needs " + std::to_string(region.size) +
                                               " bytes, the memory has " +
                                               std::to_string(memory.size()));
    }
    if (reinterpret_cast<uintptr_t>(memory.data()) % HVFILTER_ALIGN != 0) {
        return Error(ErrorCode::kInvalidArgument, "filter region: memory must start on a " +
                                                      std::to_string(HVFILTER_ALIGN) +
                                                      "-byte boundary");
    }
    region.base = memory.data();
    std::memset(region.base, 0, region.size);
    SetIndexes(region.base + region.request_ring.offset, params.first_index);
    SetIndexes(region.base + region.verdict_ring.offset, params.first_index);

    hvfilter_region_header header{};
    header.abi_major = HVFILTER_ABI_MAJOR;
    header.abi_minor = HVFILTER_ABI_MINOR;
    header.header_size = sizeof(hvfilter_region_header);
    header.region_size = region.size;
    header.request_ring = RingDesc(region.request_ring);
    header.verdict_ring = RingDesc(region.verdict_ring);
    header.request_data = AreaDesc(region.request_data);
    header.verdict_data = AreaDesc(region.verdict_data);
    std::memcpy(region.base + region.chain_table_offset, region.chain_table.data(),
                region.chain_table.size());
    header.chain_table = hvfilter_area_desc{region.chain_table_offset, region.chain_table.size()};
    region.format_id = params.format_id != 0 ? params.format_id : NewFormatId();
    header.format_id = region.format_id;
    std::memcpy(region.base, &header, sizeof(header));  // magic still 0
    // Last, with release: whoever sees the magic sees the rest.
    shared::Store<uint32_t>(region.base + offsetof(hvfilter_region_header, magic),
                            HVFILTER_REGION_MAGIC, std::memory_order_release);
    return region;
}

}  // namespace hvkit::filter_ring
