// BAR2 of hvchan: a memfd mapping and the checked accessor for its areas.
#include <cstring>

#include "hvchan/hvchan.h"

namespace hvkit::hvmm {

namespace {

struct AreaBounds {
    uint64_t offset;
    uint64_t size;
};

AreaBounds Bounds(HvchanMemory::Area area) {
    switch (area) {
        case HvchanMemory::Area::kCallIn:
            return {HVCHAN_BAR2_CALL_IN_OFFSET, HVCHAN_BAR2_CALL_IN_SIZE};
        case HvchanMemory::Area::kCallOut:
            return {HVCHAN_BAR2_CALL_OUT_OFFSET, HVCHAN_BAR2_CALL_OUT_SIZE};
    }
    return {0, 0};
}

}  // namespace

Result<std::unique_ptr<HvchanMemory>> HvchanMemory::Create(uint64_t size) {
    if (size < HVCHAN_BAR2_SIZE || (size & (size - 1)) != 0) {
        return Error(ErrorCode::kInvalidArgument,
                     "hvchan shared memory of " + std::to_string(size) +
                         " bytes: must be a power of two of at least " +
                         std::to_string(HVCHAN_BAR2_SIZE));
    }
    std::unique_ptr<HvchanMemory> m(new HvchanMemory());
    HVKIT_ASSIGN_OR_RETURN(m->mapping_, MemfdMapping::Create("hvmm-hvchan", size));
    return m;
}

Result<std::unique_ptr<HvchanMemory>> HvchanMemory::Adopt(UniqueFd fd, uint64_t size) {
    std::unique_ptr<HvchanMemory> m(new HvchanMemory());
    HVKIT_ASSIGN_OR_RETURN(m->mapping_, MemfdMapping::Adopt(std::move(fd), "hvchan", size));
    return m;
}

HvchanMemory::~HvchanMemory() = default;

std::optional<std::span<uint8_t>> HvchanMemory::Slice(Area area, uint64_t offset, uint64_t length) {
    AreaBounds b = Bounds(area);
    // The gates' one rule (GuestMemory::Slice): an empty range is allowed
    // where it starts inside the area or at its end.
    // offset <= size and length <= size - offset: no sum that could overflow.
    if (offset > b.size || length > b.size - offset) return std::nullopt;
    return std::span<uint8_t>(mapping_.data() + b.offset + offset, length);
}

hvchan_call_block HvchanMemory::ReadCallBlock() const {
    hvchan_call_block block;
    memcpy(&block, mapping_.data() + HVCHAN_BAR2_CALL_BLOCK_OFFSET, sizeof block);
    return block;
}

void HvchanMemory::WriteCallBlock(const hvchan_call_block& block) {
    memcpy(mapping_.data() + HVCHAN_BAR2_CALL_BLOCK_OFFSET, &block, sizeof block);
}

}  // namespace hvkit::hvmm
