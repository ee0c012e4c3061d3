// The filter region as a whole: Format lays it out (host), Attach validates
// one laid out by the other side (guest). Both return a FilterRegion: the
// geometry copied out of shared memory once and checked, which the ring views
// (hvkit/filter_ring.h) use from then on; nobody reads the header again.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "hvkit/filter_ring_abi.h"
#include "hvkit/status.h"

namespace hvkit::filter_ring {

// The sizes a host chooses. Counts and sizes must be powers of two within the
// ABI's limits (HVFILTER_MAX_RING_ENTRIES, HVFILTER_{MIN,MAX}_DATA_AREA).
struct RegionParams {
    uint32_t request_entries = 256;
    uint32_t verdict_entries = 256;
    uint32_t request_data_size = 256 * 1024;
    uint32_t verdict_data_size = 256 * 1024;
    // The value both indexes of both rings start from. Any value works
    // (indexes wrap at 2^32); tests start near UINT32_MAX to cross the wrap.
    uint32_t first_index = 0;
    // The chain table (ABI 0.2): JSON naming each chain's modules, at most
    // HVFILTER_MAX_CHAIN_TABLE bytes; empty: none.
    std::string chain_table;
    // This format's id (ABI 0.2); 0: Format picks a random non-zero one.
    uint64_t format_id = 0;
};

// One entry ring, validated: its control block and entries lie inside the
// region, apart from every other part.
struct RingGeometry {
    uint64_t offset = 0;  // of the control block (struct hvfilter_ring_control)
    uint32_t entries = 0;
    uint32_t entry_size = 0;
    uint32_t start_index = 0;  // the consumer index when the region was formatted or attached
};

// One data area, validated likewise.
struct AreaGeometry {
    uint64_t offset = 0;
    uint32_t size = 0;
};

// A formatted or attached region. Only Format and Attach make one; the views
// keep (base) and trust these numbers because they were checked once, here,
// and live in private memory.
struct FilterRegion {
    uint8_t* base = nullptr;
    uint64_t size = 0;
    uint16_t abi_minor = 0;  // the formatter's
    RingGeometry request_ring;
    RingGeometry verdict_ring;
    AreaGeometry request_data;
    AreaGeometry verdict_data;
    uint64_t format_id = 0;           // 0 from a 0.1 formatter
    uint64_t chain_table_offset = 0;  // where the chain table lies (0: none)
    std::string chain_table;          // copied out of the region; empty when it has none
};

// Bytes a region with (params) needs, or kInvalidArgument naming the first
// parameter outside the ABI's limits.
Result<uint64_t> RequiredSize(const RegionParams& params);

// Lays out a region with (params) at the start of (memory): zeroes it, writes
// the header (magic last, with release ordering) and sets every index to
// params.first_index. kInvalidArgument for bad params, kTooLarge when
// (memory) is smaller than RequiredSize.
Result<FilterRegion> Format(std::span<uint8_t> memory, const RegionParams& params);

// Reads the header at the start of (memory) once and checks it: magic, the
// major version, every part aligned, sized within the limits, inside the
// region and apart from the others. kRefused with a message naming the field
// and the rule otherwise. Attach to a region before using it: each ring's
// consumer index becomes its start_index, where both views begin.
Result<FilterRegion> Attach(std::span<uint8_t> memory);

// Whether the region (region) was attached to still carries that format:
// the magic is there and the format id is the same. false once the host
// started formatting a new one (attach again when Attach succeeds) or wiped
// it. Reads two fields; cheap enough for every wake-up.
bool StillFormatted(const FilterRegion& region);

// Restarts (ABI 0.2): the guest claims a format when it starts serving it.
// -> false when a guest had claimed it already (an earlier runtime served
// it: ask for a fresh format with RequestReset instead of using it).
bool ClaimForGuest(const FilterRegion& region);
// The guest asks the host for a fresh format (then kicks the doorbell).
void RequestReset(const FilterRegion& region);
// The host: whether the guest asked for a fresh format.
bool ResetRequested(const FilterRegion& region);

}  // namespace hvkit::filter_ring
