// Attach: check a region the other side laid out. The header is read once,
// field by field, into private memory; every rule is checked on that copy,
// and the FilterRegion it returns is all anyone uses afterwards.
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdio>
#include <string>

#include "hvkit/filter_region.h"
#include "region_rules.h"
#include "shared_memory.h"

namespace hvkit::filter_ring {

namespace {

// "0x1f40", for offsets in messages.
std::string Hex(uint64_t value) {
    char text[24];
    std::snprintf(text, sizeof(text), "0x%llx", static_cast<unsigned long long>(value));
    return text;
}

Status Refuse(const std::string& detail) {
    return Error(ErrorCode::kRefused, "filter region: " + detail);
}

// The header's fields as this side read them, once.
struct HeaderCopy {
    uint32_t magic;
    uint16_t abi_major;
    uint16_t abi_minor;
    uint32_t header_size;
    uint64_t region_size;
    hvfilter_ring_desc request_ring;
    hvfilter_ring_desc verdict_ring;
    hvfilter_area_desc request_data;
    hvfilter_area_desc verdict_data;
    hvfilter_area_desc chain_table;
    uint64_t format_id;
};

hvfilter_ring_desc ReadRingDesc(const uint8_t* at) {
    return hvfilter_ring_desc{
        shared::Load<uint64_t>(at + offsetof(hvfilter_ring_desc, offset)),
        shared::Load<uint32_t>(at + offsetof(hvfilter_ring_desc, entries)),
        shared::Load<uint32_t>(at + offsetof(hvfilter_ring_desc, entry_size))};
}

hvfilter_area_desc ReadAreaDesc(const uint8_t* at) {
    return hvfilter_area_desc{shared::Load<uint64_t>(at + offsetof(hvfilter_area_desc, offset)),
                              shared::Load<uint64_t>(at + offsetof(hvfilter_area_desc, size))};
}

HeaderCopy ReadHeader(const uint8_t* base) {
    HeaderCopy header;
    // Acquire: Format stores the magic last, with release.
    header.magic = shared::Load<uint32_t>(base + offsetof(hvfilter_region_header, magic),
                                          std::memory_order_acquire);
    header.abi_major = shared::Load<uint16_t>(base + offsetof(hvfilter_region_header, abi_major));
    header.abi_minor = shared::Load<uint16_t>(base + offsetof(hvfilter_region_header, abi_minor));
    header.header_size =
        shared::Load<uint32_t>(base + offsetof(hvfilter_region_header, header_size));
    header.region_size =
        shared::Load<uint64_t>(base + offsetof(hvfilter_region_header, region_size));
    header.request_ring = ReadRingDesc(base + offsetof(hvfilter_region_header, request_ring));
    header.verdict_ring = ReadRingDesc(base + offsetof(hvfilter_region_header, verdict_ring));
    header.request_data = ReadAreaDesc(base + offsetof(hvfilter_region_header, request_data));
    header.verdict_data = ReadAreaDesc(base + offsetof(hvfilter_region_header, verdict_data));
    header.chain_table = ReadAreaDesc(base + offsetof(hvfilter_region_header, chain_table));
    header.format_id = shared::Load<uint64_t>(base + offsetof(hvfilter_region_header, format_id));
    return header;
}

// One part of the region, for the inside and overlap checks.
struct Part {
    const char* name;
    uint64_t offset;
    uint64_t size;
};

Status CheckInside(const Part& part, uint64_t region_size) {
    if (part.offset % HVFILTER_ALIGN != 0) {
        return Refuse(std::string(part.name) + " offset " + Hex(part.offset) +
                      " is not a multiple of " + std::to_string(HVFILTER_ALIGN));
    }
    // offset first, then the size against what is left: no overflow.
    if (part.offset > region_size || part.size > region_size - part.offset) {
        return Refuse(std::string(part.name) + " [" + Hex(part.offset) + ", +" + Hex(part.size) +
                      ") leaves the " + Hex(region_size) + "-byte region");
    }
    return Status::Ok();
}

Status CheckRing(const char* name, const hvfilter_ring_desc& ring, uint32_t entry_size,
                 uint64_t region_size) {
    if (!ValidEntryCount(ring.entries)) {
        return Refuse(std::string(name) + " entries " + std::to_string(ring.entries) +
                      " is not a power of two up to " + std::to_string(HVFILTER_MAX_RING_ENTRIES));
    }
    if (ring.entry_size != entry_size) {
        return Refuse(std::string(name) + " entry size " + std::to_string(ring.entry_size) +
                      " is not " + std::to_string(entry_size) + ", this ABI's");
    }
    return CheckInside(Part{name, ring.offset, RingBytes(ring.entries, ring.entry_size)},
                       region_size);
}

Status CheckArea(const char* name, const hvfilter_area_desc& area, uint64_t region_size) {
    if (!ValidDataAreaSize(area.size)) {
        return Refuse(std::string(name) + " size " + std::to_string(area.size) +
                      " is not a power of two from " + std::to_string(HVFILTER_MIN_DATA_AREA) +
                      " to " + std::to_string(HVFILTER_MAX_DATA_AREA));
    }
    return CheckInside(Part{name, area.offset, area.size}, region_size);
}

Status CheckChainTable(const hvfilter_area_desc& table, uint64_t region_size) {
    if (table.size > HVFILTER_MAX_CHAIN_TABLE) {
        return Refuse("chain table size " + std::to_string(table.size) + " exceeds " +
                      std::to_string(HVFILTER_MAX_CHAIN_TABLE));
    }
    return CheckInside(Part{"chain table", table.offset, table.size}, region_size);
}

// Parts already inside the region; none may share a byte with another. An
// empty part holds no byte.
Status CheckApart(std::array<Part, 6> parts) {
    std::sort(parts.begin(), parts.end(),
              [](const Part& a, const Part& b) { return a.offset < b.offset; });
    const Part* before = nullptr;
    for (const Part& part : parts) {
        if (part.size == 0) continue;
        if (before != nullptr && before->offset + before->size > part.offset) {
            return Refuse(std::string(part.name) + " at " + Hex(part.offset) + " overlaps the " +
                          before->name + " [" + Hex(before->offset) + ", +" + Hex(before->size) +
                          ")");
        }
        before = &part;
    }
    return Status::Ok();
}

Status CheckHeader(const HeaderCopy& header, uint64_t memory_size) {
    if (header.magic != HVFILTER_REGION_MAGIC) {
        return Refuse("magic " + Hex(header.magic) + " is not " + Hex(HVFILTER_REGION_MAGIC) +
                      " (not a filter region, or not formatted yet)");
    }
    if (header.abi_major != HVFILTER_ABI_MAJOR) {
        return Refuse(
            "ABI " + std::to_string(header.abi_major) + "." + std::to_string(header.abi_minor) +
            " is not major version " + std::to_string(HVFILTER_ABI_MAJOR) + " (this side speaks " +
            std::to_string(HVFILTER_ABI_MAJOR) + "." + std::to_string(HVFILTER_ABI_MINOR) + ")");
    }
    if (header.region_size > memory_size) {
        return Refuse("region size " + Hex(header.region_size) + " exceeds the " +
                      Hex(memory_size) + " bytes mapped");
    }
    if (header.header_size < sizeof(hvfilter_region_header) ||
        header.header_size > header.region_size) {
        return Refuse("header size " + std::to_string(header.header_size) + " is below " +
                      std::to_string(sizeof(hvfilter_region_header)) + " or past the region's end");
    }
    HVKIT_RETURN_IF_ERROR(CheckRing("request ring", header.request_ring, sizeof(hvfilter_request),
                                    header.region_size));
    HVKIT_RETURN_IF_ERROR(CheckRing("verdict ring", header.verdict_ring, sizeof(hvfilter_verdict),
                                    header.region_size));
    HVKIT_RETURN_IF_ERROR(CheckArea("request data area", header.request_data, header.region_size));
    HVKIT_RETURN_IF_ERROR(CheckArea("verdict data area", header.verdict_data, header.region_size));
    HVKIT_RETURN_IF_ERROR(CheckChainTable(header.chain_table, header.region_size));
    return CheckApart({
        Part{"header", 0, header.header_size},
        Part{"request ring", header.request_ring.offset,
             RingBytes(header.request_ring.entries, header.request_ring.entry_size)},
        Part{"verdict ring", header.verdict_ring.offset,
             RingBytes(header.verdict_ring.entries, header.verdict_ring.entry_size)},
        Part{"request data area", header.request_data.offset, header.request_data.size},
        Part{"verdict data area", header.verdict_data.offset, header.verdict_data.size},
        Part{"chain table", header.chain_table.offset, header.chain_table.size},
    });
}

RingGeometry AttachedRing(const uint8_t* base, const hvfilter_ring_desc& ring) {
    const uint32_t consumer = shared::Load<uint32_t>(
        base + ring.offset + offsetof(hvfilter_ring_control, consumer.consumer_index),
        std::memory_order_acquire);
    return RingGeometry{ring.offset, ring.entries, ring.entry_size, consumer};
}

}  // namespace

Result<FilterRegion> Attach(std::span<uint8_t> memory) {
    if (memory.size() < sizeof(hvfilter_region_header)) {
        return Refuse("only " + std::to_string(memory.size()) +
                      " bytes mapped; the header alone is " +
                      std::to_string(sizeof(hvfilter_region_header)));
    }
    if (reinterpret_cast<uintptr_t>(memory.data()) % HVFILTER_ALIGN != 0) {
        return Error(ErrorCode::kInvalidArgument, "filter region: memory must start on a " +
                                                      std::to_string(HVFILTER_ALIGN) +
                                                      "-byte boundary");
    }
    const HeaderCopy header = ReadHeader(memory.data());
    HVKIT_RETURN_IF_ERROR(CheckHeader(header, memory.size()));

    FilterRegion region;
    region.base = memory.data();
    region.size = header.region_size;
    region.abi_minor = header.abi_minor;
    region.request_ring = AttachedRing(region.base, header.request_ring);
    region.verdict_ring = AttachedRing(region.base, header.verdict_ring);
    region.request_data =
        AreaGeometry{header.request_data.offset, static_cast<uint32_t>(header.request_data.size)};
    region.verdict_data =
        AreaGeometry{header.verdict_data.offset, static_cast<uint32_t>(header.verdict_data.size)};
    region.format_id = header.format_id;
    region.chain_table_offset = header.chain_table.offset;
    // Copied out once; a host rewriting it later changes nothing here.
    region.chain_table.resize(header.chain_table.size);
    shared::CopyOut(reinterpret_cast<uint8_t*>(region.chain_table.data()),
                    region.base + header.chain_table.offset, header.chain_table.size);
    return region;
}

bool StillFormatted(const FilterRegion& region) {
    const uint32_t magic = shared::Load<uint32_t>(
        region.base + offsetof(hvfilter_region_header, magic), std::memory_order_acquire);
    const uint64_t format_id =
        shared::Load<uint64_t>(region.base + offsetof(hvfilter_region_header, format_id));
    return magic == HVFILTER_REGION_MAGIC && format_id == region.format_id;
}

namespace {

uint8_t* VerdictProducerField(const FilterRegion& region, size_t field) {
    return region.base + region.verdict_ring.offset + offsetof(hvfilter_ring_control, producer) +
           field;
}

}  // namespace

bool ClaimForGuest(const FilterRegion& region) {
    uint8_t* claimed =
        VerdictProducerField(region, offsetof(hvfilter_ring_producer_line, guest_attached));
    if (shared::Load<uint32_t>(claimed, std::memory_order_acquire) != 0) return false;
    shared::Store<uint32_t>(claimed, 1, std::memory_order_release);
    return true;
}

void RequestReset(const FilterRegion& region) {
    shared::Store<uint32_t>(
        VerdictProducerField(region, offsetof(hvfilter_ring_producer_line, reset_request)), 1,
        std::memory_order_release);
}

bool ResetRequested(const FilterRegion& region) {
    return shared::Load<uint32_t>(
               VerdictProducerField(region, offsetof(hvfilter_ring_producer_line, reset_request)),
               std::memory_order_acquire) != 0;
}

}  // namespace hvkit::filter_ring
