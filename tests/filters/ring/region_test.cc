// Format lays a region out within the ABI's rules; Attach accepts exactly
// such regions and refuses, with a message naming the field and the rule,
// every header a hostile or broken peer could write.
#include <gtest/gtest.h>

#include <cstring>
#include <functional>
#include <string>

#include "guarded_region.h"
#include "hvkit/filter_region.h"
#include "hvkit/filter_ring.h"

namespace hvkit::filter_ring {
namespace {

using testing::GuardedRegion;
using testing::Header;
using testing::SmallParams;

TEST(FilterRegion, DefaultLayoutMatchesTheDocumentedTable) {
    const RegionParams params;
    Result<uint64_t> size = RequiredSize(params);
    ASSERT_TRUE(size.ok()) << size.status().message();
    EXPECT_EQ(*size, 0x86000u);  // docs/filter-rings.md
    GuardedRegion memory(*size);
    Result<FilterRegion> region = Format(memory.memory(), params);
    ASSERT_TRUE(region.ok()) << region.status().message();
    EXPECT_EQ(region->request_ring.offset, 0x1000u);
    EXPECT_EQ(region->verdict_ring.offset, 0x4000u);
    EXPECT_EQ(region->request_data.offset, 0x6000u);
    EXPECT_EQ(region->verdict_data.offset, 0x46000u);

    const hvfilter_region_header& header = Header(*region);
    EXPECT_EQ(header.magic, HVFILTER_REGION_MAGIC);
    EXPECT_EQ(std::memcmp(&header.magic, "HVFR", 4), 0);
    EXPECT_EQ(header.abi_major, HVFILTER_ABI_MAJOR);
    EXPECT_EQ(header.abi_minor, HVFILTER_ABI_MINOR);
    EXPECT_EQ(header.region_size, *size);
    EXPECT_EQ(header.request_ring.entries, 256u);
    EXPECT_EQ(header.request_ring.entry_size, sizeof(hvfilter_request));
    EXPECT_EQ(header.verdict_data.size, 256u * 1024);
}

TEST(FilterRegion, AttachSeesWhatFormatWrote) {
    const RegionParams params = SmallParams(0xfffffff0u);
    GuardedRegion memory(*RequiredSize(params));
    Result<FilterRegion> formatted = Format(memory.memory(), params);
    ASSERT_TRUE(formatted.ok()) << formatted.status().message();
    Result<FilterRegion> attached = Attach(memory.memory());
    ASSERT_TRUE(attached.ok()) << attached.status().message();
    EXPECT_EQ(attached->size, formatted->size);
    EXPECT_EQ(attached->abi_minor, HVFILTER_ABI_MINOR);
    for (auto ring : {&FilterRegion::request_ring, &FilterRegion::verdict_ring}) {
        EXPECT_EQ((*attached.*ring).offset, (*formatted.*ring).offset);
        EXPECT_EQ((*attached.*ring).entries, 8u);
        EXPECT_EQ((*attached.*ring).start_index, 0xfffffff0u);
    }
    EXPECT_EQ(attached->request_data.offset, formatted->request_data.offset);
    EXPECT_EQ(attached->verdict_data.size, 1024u);
}

TEST(FilterRegion, FormatRefusesParamsOutsideTheAbi) {
    GuardedRegion memory(1 << 20);
    auto refused = [&](RegionParams params, const std::string& field) {
        Result<FilterRegion> region = Format(memory.memory(), params);
        ASSERT_FALSE(region.ok()) << field;
        EXPECT_EQ(region.status().code(), ErrorCode::kInvalidArgument);
        EXPECT_NE(region.status().message().find(field), std::string::npos)
            << region.status().message();
    };
    RegionParams params = SmallParams();
    params.request_entries = 6;
    refused(params, "request_entries 6");
    params = SmallParams();
    params.verdict_entries = 0;
    refused(params, "verdict_entries 0");
    params = SmallParams();
    params.verdict_entries = HVFILTER_MAX_RING_ENTRIES * 2;
    refused(params, "verdict_entries");
    params = SmallParams();
    params.request_data_size = 32;
    refused(params, "request_data_size 32");
    params = SmallParams();
    params.verdict_data_size = 1000;
    refused(params, "verdict_data_size 1000");
}

TEST(FilterRegion, FormatRefusesMemoryTooSmall) {
    const RegionParams params = SmallParams();
    const uint64_t size = *RequiredSize(params);
    GuardedRegion memory(size);
    Result<FilterRegion> region = Format(memory.memory().first(size - 1), params);
    ASSERT_FALSE(region.ok());
    EXPECT_EQ(region.status().code(), ErrorCode::kTooLarge);
}

// Formats a small region, lets (corrupt) change its header, and expects
// Attach to refuse it with a message containing (expected).
void ExpectAttachRefuses(const std::function<void(hvfilter_region_header&)>& corrupt,
                         const std::string& expected) {
    const RegionParams params = SmallParams();
    GuardedRegion memory(*RequiredSize(params));
    Result<FilterRegion> region = Format(memory.memory(), params);
    ASSERT_TRUE(region.ok());
    corrupt(Header(*region));
    Result<FilterRegion> attached = Attach(memory.memory());
    ASSERT_FALSE(attached.ok()) << "expected: " << expected;
    EXPECT_EQ(attached.status().code(), ErrorCode::kRefused);
    EXPECT_NE(attached.status().message().find(expected), std::string::npos)
        << attached.status().message();
}

TEST(FilterRegion, AttachRefusesBadMagicAndVersion) {
    ExpectAttachRefuses([](auto& h) { h.magic = 0; }, "magic 0x0 is not 0x52465648");
    ExpectAttachRefuses([](auto& h) { h.abi_major = HVFILTER_ABI_MAJOR + 1; },
                        "is not major version");
}

TEST(FilterRegion, AttachAcceptsANewerMinor) {
    const RegionParams params = SmallParams();
    GuardedRegion memory(*RequiredSize(params));
    Result<FilterRegion> region = Format(memory.memory(), params);
    ASSERT_TRUE(region.ok());
    Header(*region).abi_minor = HVFILTER_ABI_MINOR + 7;
    Result<FilterRegion> attached = Attach(memory.memory());
    ASSERT_TRUE(attached.ok()) << attached.status().message();
    EXPECT_EQ(attached->abi_minor, HVFILTER_ABI_MINOR + 7);
}

TEST(FilterRegion, AttachRefusesSizesPastTheMapping) {
    ExpectAttachRefuses([](auto& h) { h.region_size += 1; }, "exceeds the");
    ExpectAttachRefuses([](auto& h) { h.header_size = 64; }, "header size 64");
    ExpectAttachRefuses([](auto& h) { h.header_size = 0xffffffffu; }, "header size");
}

TEST(FilterRegion, AttachRefusesRingsOutsideTheRules) {
    ExpectAttachRefuses([](auto& h) { h.request_ring.offset += 8; },
                        "request ring offset 0x1008 is not a multiple of 64");
    ExpectAttachRefuses([](auto& h) { h.verdict_ring.entries = 12; }, "verdict ring entries 12");
    ExpectAttachRefuses([](auto& h) { h.verdict_ring.entries = 1u << 31; }, "verdict ring entries");
    ExpectAttachRefuses([](auto& h) { h.request_ring.entry_size = 40; },
                        "request ring entry size 40 is not 32");
    // Inside the limits but past the region's end.
    ExpectAttachRefuses([](auto& h) { h.verdict_ring.entries = HVFILTER_MAX_RING_ENTRIES; },
                        "verdict ring [");
    // An offset that would overflow if added to the size.
    ExpectAttachRefuses([](auto& h) { h.request_ring.offset = ~0ull - 63; }, "leaves the");
}

TEST(FilterRegion, AttachRefusesDataAreasOutsideTheRules) {
    ExpectAttachRefuses([](auto& h) { h.request_data.size = 1000; }, "request data area size 1000");
    ExpectAttachRefuses([](auto& h) { h.verdict_data.size = 1ull << 40; },
                        "verdict data area size");
    ExpectAttachRefuses([](auto& h) { h.verdict_data.offset = h.region_size; },
                        "verdict data area [");
    ExpectAttachRefuses([](auto& h) { h.verdict_data.offset = ~0ull - 63; }, "verdict data area [");
    ExpectAttachRefuses([](auto& h) { h.request_data.size = 1ull << 63; },
                        "request data area size");
}

TEST(FilterRegion, AttachRefusesOverlappingParts) {
    ExpectAttachRefuses([](auto& h) { h.verdict_data.offset = h.request_data.offset + 512; },
                        "overlaps the request data area");
    ExpectAttachRefuses([](auto& h) { h.verdict_ring.offset = h.request_ring.offset; },
                        "overlaps the");
    ExpectAttachRefuses([](auto& h) { h.request_ring.offset = 64; }, "overlaps the header");
}

// ABI 0.2: the chain table travels with the region, copied out at attach.
TEST(FilterRegion, TheChainTableAndFormatIdReachTheGuest) {
    RegionParams params = SmallParams();
    params.chain_table = R"({"chains":[{"source":"web","modules":[]}]})";
    GuardedRegion memory(*RequiredSize(params));
    Result<FilterRegion> formatted = Format(memory.memory(), params);
    ASSERT_TRUE(formatted.ok()) << formatted.status().message();
    EXPECT_NE(formatted->format_id, 0u) << "Format picks a non-zero id";
    Result<FilterRegion> attached = Attach(memory.memory());
    ASSERT_TRUE(attached.ok()) << attached.status().message();
    EXPECT_EQ(attached->chain_table, params.chain_table);
    EXPECT_EQ(attached->format_id, formatted->format_id);
    EXPECT_GE(attached->chain_table_offset, formatted->verdict_data.offset + 1024)
        << "the table follows the data areas";

    // A copy: the host rewriting it afterwards changes nothing attached.
    std::memset(memory.memory().data() + attached->chain_table_offset, 'x', 4);
    EXPECT_EQ(attached->chain_table, params.chain_table);
}

TEST(FilterRegion, EachFormatHasItsOwnIdAndTheGuestNoticesANewOne) {
    const RegionParams params = SmallParams();
    GuardedRegion memory(*RequiredSize(params));
    ASSERT_TRUE(Format(memory.memory(), params).ok());
    Result<FilterRegion> attached = Attach(memory.memory());
    ASSERT_TRUE(attached.ok());
    EXPECT_TRUE(StillFormatted(*attached));

    Result<FilterRegion> again = Format(memory.memory(), params);
    ASSERT_TRUE(again.ok());
    EXPECT_NE(again->format_id, attached->format_id);
    EXPECT_FALSE(StillFormatted(*attached)) << "a new format, a new id";
    Result<FilterRegion> reattached = Attach(memory.memory());
    ASSERT_TRUE(reattached.ok());
    EXPECT_TRUE(StillFormatted(*reattached));

    Header(*again).magic = 0;  // a format in progress
    EXPECT_FALSE(StillFormatted(*reattached));
}

TEST(FilterRegion, FormatRefusesAChainTableOverTheLimit) {
    RegionParams params = SmallParams();
    params.chain_table.assign(HVFILTER_MAX_CHAIN_TABLE + 1, ' ');
    EXPECT_FALSE(RequiredSize(params).ok());
}

TEST(FilterRegion, AttachRefusesAChainTableOutsideTheRules) {
    ExpectAttachRefuses(
        [](auto& h) {
            h.chain_table = {h.region_size - 64, 128};
        },
        "chain table [");
    ExpectAttachRefuses(
        [](auto& h) {
            h.chain_table = {h.request_data.offset, 16};
        },
        "overlaps the request data area");
    ExpectAttachRefuses(
        [](auto& h) {
            h.chain_table = {0, HVFILTER_MAX_CHAIN_TABLE + 1ull};
        },
        "chain table size");
    ExpectAttachRefuses(
        [](auto& h) {
            h.chain_table = {h.request_ring.offset + 8, 0};
        },
        "chain table offset");
}

TEST(FilterRegion, AttachRefusesMemorySmallerThanAHeader) {
    GuardedRegion memory(4096);
    Result<FilterRegion> attached = Attach(memory.memory().first(100));
    ASSERT_FALSE(attached.ok());
    EXPECT_EQ(attached.status().code(), ErrorCode::kRefused);
}

// The geometry is copied once: a peer rewriting the header afterwards
// changes nothing for views already made.
TEST(FilterRegion, HeaderRewrittenAfterAttachIsNeverReadAgain) {
    const RegionParams params = SmallParams();
    GuardedRegion memory(*RequiredSize(params));
    Result<FilterRegion> formatted = Format(memory.memory(), params);
    ASSERT_TRUE(formatted.ok());
    Result<FilterRegion> attached = Attach(memory.memory());
    ASSERT_TRUE(attached.ok());
    RequestProducer producer(*formatted);
    RequestConsumer consumer(*attached);

    hvfilter_region_header& header = Header(*formatted);
    header.request_data.size = 1ull << 40;
    header.request_data.offset = 1ull << 50;
    header.request_ring.entries = 1u << 30;

    FilterRequest request;
    request.item_id = 7;
    request.bytes = testing::ItemBytes(7, 300);
    ASSERT_TRUE(producer.Stage(request).ok());
    ASSERT_TRUE(producer.Publish().ok());
    std::vector<FilterRequest> received;
    Result<size_t> count = consumer.Receive(received, 16);
    ASSERT_TRUE(count.ok()) << count.status().message();
    ASSERT_EQ(*count, 1u);
    EXPECT_EQ(received[0].bytes, request.bytes);
}

}  // namespace
}  // namespace hvkit::filter_ring
