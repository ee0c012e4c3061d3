// The one gate into guest memory refuses everything outside RAM.
#include <gtest/gtest.h>

#include <cstdint>
#include <limits>

#include "arch/x86_64/layout.h"
#include "hvmm.h"

namespace hvkit::hvmm {
namespace {

constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();

std::unique_ptr<GuestMemory> Make(uint64_t size) {
    auto mem = GuestMemory::Create(size);
    EXPECT_TRUE(mem.ok()) << mem.status().message();
    return std::move(mem).value();
}

TEST(GuestMemory, RefusesSizesThatAreNotWholePages) {
    EXPECT_FALSE(GuestMemory::Create(0).ok());
    auto odd = GuestMemory::Create(4097);
    ASSERT_FALSE(odd.ok());
    EXPECT_NE(odd.status().message().find("multiple of 4096"), std::string::npos);
}

TEST(GuestMemory, SliceInsideRamWorks) {
    auto mem = Make(1 << 20);
    auto whole = mem->Slice(0, 1 << 20);
    ASSERT_TRUE(whole.ok()) << whole.status().message();
    EXPECT_EQ(whole->size(), 1u << 20);
    EXPECT_TRUE(mem->Slice((1 << 20) - 1, 1).ok());
    EXPECT_GE(mem->memfd(), 0);
}

TEST(GuestMemory, SliceRefusesRangesPastTheEnd) {
    auto mem = Make(1 << 20);
    EXPECT_EQ(mem->Slice(1 << 20, 1).status().code(), ErrorCode::kRefused);
    EXPECT_EQ(mem->Slice((1 << 20) - 1, 2).status().code(), ErrorCode::kRefused);
    EXPECT_EQ(mem->Slice(0, (1 << 20) + 1).status().code(), ErrorCode::kRefused);
    EXPECT_EQ(mem->Slice(0x10000000, 16).status().code(), ErrorCode::kRefused);
}

TEST(GuestMemory, SliceRefusesOverflowingGpaPlusLen) {
    auto mem = Make(1 << 20);
    auto wrap = mem->Slice(kMax, 2);
    ASSERT_FALSE(wrap.ok());
    EXPECT_NE(wrap.status().message().find("wraps"), std::string::npos);
    EXPECT_FALSE(mem->Slice(1, kMax).ok());
    EXPECT_FALSE(mem->Slice(0x1000, kMax - 0xfff).ok());  // last byte would be 0
    EXPECT_FALSE(mem->Slice(kMax, 1).ok());
}

// The one rule of hvkit's checked gates (HvchanMemory::Slice too): an empty
// range is allowed where it starts inside the area or at its end.
TEST(GuestMemory, AnEmptySliceIsAllowedOnlyInsideRam) {
    auto mem = Make(1 << 20);
    EXPECT_TRUE(mem->Slice(0, 0).ok());
    auto at_end = mem->Slice(1 << 20, 0);
    ASSERT_TRUE(at_end.ok());
    EXPECT_TRUE(at_end->empty());
    EXPECT_FALSE(mem->Slice((1 << 20) + 1, 0).ok());
    EXPECT_FALSE(mem->Slice(kMax, 0).ok());
}

TEST(GuestMemory, WriteAndReadRoundTrip) {
    auto mem = Make(1 << 20);
    const uint8_t in[] = {1, 2, 3, 4};
    ASSERT_TRUE(mem->Write(0x1234, in).ok());
    uint8_t out[4] = {};
    ASSERT_TRUE(mem->Read(0x1234, out).ok());
    EXPECT_EQ(0, memcmp(in, out, 4));
    EXPECT_FALSE(mem->Write((1 << 20) - 2, in).ok());
    EXPECT_FALSE(mem->Read((1 << 20) - 2, out).ok());
}

TEST(GuestMemory, RamPastTheGapMovesAboveFourGiB) {
    // Sparse: nothing is touched but the pages the test writes.
    uint64_t size = layout::kMmioGapStart + (1 << 20);
    auto mem = Make(size);
    ASSERT_EQ(mem->regions().size(), 2u);
    EXPECT_EQ(mem->low_ram_end(), layout::kMmioGapStart);
    EXPECT_EQ(mem->regions()[1].gpa, layout::kHighRamStart);
    EXPECT_TRUE(mem->Slice(layout::kMmioGapStart - 1, 1).ok());
    // A range spanning the gap is not one piece of RAM.
    EXPECT_FALSE(mem->Slice(layout::kMmioGapStart - 1, 2).ok());
    EXPECT_FALSE(mem->Slice(layout::kIoapicStart, 4).ok());
    EXPECT_TRUE(mem->Slice(layout::kHighRamStart, 1 << 20).ok());
    EXPECT_FALSE(mem->Slice(layout::kHighRamStart + (1 << 20), 1).ok());
}

}  // namespace
}  // namespace hvkit::hvmm
