// Guest RAM: one memfd, mapped once, cut into regions around the MMIO gap.
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "arch/x86_64/layout.h"
#include "hvmm.h"

namespace hvkit::hvmm {

namespace {

constexpr uint64_t kPageSize = 4096;

std::string Hex(uint64_t value) {
    char buf[24];
    snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(value));
    return buf;
}

}  // namespace

Result<std::unique_ptr<GuestMemory>> GuestMemory::Create(uint64_t size, std::string_view name) {
    if (size == 0 || size % kPageSize != 0) {
        return Error(ErrorCode::kInvalidArgument, "guest memory size " + std::to_string(size) +
                                                      " is not a non-zero multiple of 4096 bytes");
    }
    if (size > layout::kMaxGuestMemory) {
        return Error(ErrorCode::kInvalidArgument,
                     "guest memory size " + std::to_string(size >> 20) + " MiB exceeds hvmm's " +
                         std::to_string(layout::kMaxGuestMemory >> 30) + " GiB limit");
    }
    std::unique_ptr<GuestMemory> mem(new GuestMemory());
    HVKIT_ASSIGN_OR_RETURN(mem->ram_, MemfdMapping::Create(name, size));
    mem->Lay();
    return mem;
}

Result<std::unique_ptr<GuestMemory>> GuestMemory::Adopt(UniqueFd fd, uint64_t size) {
    if (size == 0 || size % kPageSize != 0 || size > layout::kMaxGuestMemory) {
        return Error(ErrorCode::kMalformed, "handed-over guest memory of " + std::to_string(size) +
                                                " bytes is not a size hvmm makes");
    }
    std::unique_ptr<GuestMemory> mem(new GuestMemory());
    HVKIT_ASSIGN_OR_RETURN(mem->ram_, MemfdMapping::Adopt(std::move(fd), "ram", size));
    mem->Lay();
    return mem;
}

void GuestMemory::Lay() {
    uint64_t size = ram_.size();
    uint8_t* mapping = ram_.data();
    size_ = size;
    uint64_t low = size < layout::kMmioGapStart ? size : layout::kMmioGapStart;
    regions_.push_back({0, low, 0, mapping});
    if (size > low) regions_.push_back({layout::kHighRamStart, size - low, low, mapping + low});
}

GuestMemory::~GuestMemory() = default;

uint64_t GuestMemory::low_ram_end() const {
    return regions_.front().size;
}

Result<std::span<uint8_t>> GuestMemory::Slice(uint64_t gpa, uint64_t len) {
    // hvkit's one rule for a checked gate (HvchanMemory::Slice keeps it too):
    // an empty range touches nothing and is allowed where it starts inside
    // the area or at its end; a range of bytes must lie wholly inside.
    if (len == 0) {
        for (const MemoryRegion& r : regions_) {
            if (gpa >= r.gpa && gpa - r.gpa <= r.size)
                return std::span<uint8_t>(r.host + (gpa - r.gpa), 0);
        }
        return Error(ErrorCode::kRefused,
                     "guest memory access of 0 bytes at " + Hex(gpa) + " is not inside guest RAM");
    }
    uint64_t last = 0;
    if (__builtin_add_overflow(gpa, len - 1, &last)) {
        return Error(ErrorCode::kRefused, "guest memory range " + Hex(gpa) + " + " + Hex(len) +
                                              " wraps past the end of the address space");
    }
    for (const MemoryRegion& r : regions_) {
        // [gpa, last] inside [r.gpa, r.gpa + r.size - 1]; no sum can overflow here.
        if (gpa >= r.gpa && last - r.gpa < r.size && gpa - r.gpa < r.size) {
            return std::span<uint8_t>(r.host + (gpa - r.gpa), len);
        }
    }
    return Error(ErrorCode::kRefused, "guest memory range [" + Hex(gpa) + ", " + Hex(last) +
                                          "] is not inside guest RAM");
}

Result<std::span<const uint8_t>> GuestMemory::Slice(uint64_t gpa, uint64_t len) const {
    auto slice = const_cast<GuestMemory*>(this)->Slice(gpa, len);
    if (!slice.ok()) return slice.status();
    return std::span<const uint8_t>(*slice);
}

Status GuestMemory::Write(uint64_t gpa, std::span<const uint8_t> bytes) {
    HVKIT_ASSIGN_OR_RETURN(std::span<uint8_t> dst, Slice(gpa, bytes.size()));
    memcpy(dst.data(), bytes.data(), bytes.size());
    return Status::Ok();
}

Status GuestMemory::Read(uint64_t gpa, std::span<uint8_t> out) const {
    HVKIT_ASSIGN_OR_RETURN(std::span<const uint8_t> src, Slice(gpa, out.size()));
    memcpy(out.data(), src.data(), out.size());
    return Status::Ok();
}

}  // namespace hvkit::hvmm
