// A hostile peer writes whatever it likes into the region. Every lie about
// an index, an offset, a length or a code is refused with an error naming
// the ring, the entry, the field and the rule; the view stays broken; and
// the refusing side writes nothing, anywhere (the region sits between guard
// pages, and is compared byte for byte before and after).
#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <string>

#include "guarded_region.h"
#include "hvkit/filter_region.h"
#include "hvkit/filter_ring.h"

namespace hvkit::filter_ring {
namespace {

using testing::Control;
using testing::GuardedRegion;
using testing::RequestSlot;
using testing::SmallParams;
using testing::VerdictData;
using testing::VerdictSlot;

constexpr uint32_t kFirst = 0xfffffffau;  // the rings cross 2^32 within a few entries

struct HostilePeer : ::testing::Test {
    HostilePeer()
        : memory(*RequiredSize(SmallParams(kFirst))),
          host(*Format(memory.memory(), SmallParams(kFirst))),
          guest(*Attach(memory.memory())),
          verdicts_in(host),
          requests_out(host),
          requests_in(guest) {}

    // The guest, ignoring the library: writes (entry) at verdict index
    // (index) and publishes up to and including it.
    void RawVerdict(uint32_t index, hvfilter_verdict entry) {
        VerdictSlot(host, index) = entry;
        Control(host, host.verdict_ring).producer.producer_index = index + 1;
    }
    static hvfilter_verdict Changed(uint32_t offset, uint32_t length, uint64_t id = 1) {
        return hvfilter_verdict{id, HVFILTER_VERDICT_CHANGED, 0, offset, length, 0};
    }

    // Receive must fail with kRefused naming (expected), leave (out) as it
    // was, write nothing, and fail the same way again afterwards.
    void ExpectVerdictsRefused(const std::string& expected) {
        const std::vector<uint8_t> before = memory.Snapshot();
        std::vector<FilterVerdict> out(1);
        Result<size_t> received = verdicts_in.Receive(out, 64);
        ASSERT_FALSE(received.ok()) << "expected: " << expected;
        EXPECT_EQ(received.status().code(), ErrorCode::kRefused);
        EXPECT_NE(received.status().message().find(expected), std::string::npos)
            << received.status().message();
        EXPECT_NE(received.status().message().find("the ring is broken"), std::string::npos);
        EXPECT_EQ(out.size(), 1u);
        EXPECT_TRUE(memory.Snapshot() == before) << "the refusing side wrote to the region";
        Result<size_t> again = verdicts_in.Receive(out, 64);
        ASSERT_FALSE(again.ok());
        EXPECT_EQ(again.status().message(), received.status().message());
        EXPECT_FALSE(verdicts_in.PrepareToSleep().ok());
    }

    GuardedRegion memory;
    FilterRegion host;
    FilterRegion guest;
    VerdictConsumer verdicts_in;
    RequestProducer requests_out;
    RequestConsumer requests_in;
};

TEST_F(HostilePeer, ProducerIndexJumpsPastTheRing) {
    Control(host, host.verdict_ring).producer.producer_index = kFirst + 9;
    ExpectVerdictsRefused("verdict ring: producer index 3 is 9 entries ahead of consumer index " +
                          std::to_string(kFirst) + "; at most 8 fit");
}

TEST_F(HostilePeer, ProducerIndexFarBehindLooksFarAhead) {
    Control(host, host.verdict_ring).producer.producer_index = kFirst - 1;
    ExpectVerdictsRefused("entries ahead of consumer index");
}

TEST_F(HostilePeer, ProducerIndexGoesBack) {
    for (uint32_t i = 0; i < 3; ++i) {
        RawVerdict(kFirst + i, hvfilter_verdict{i, HVFILTER_VERDICT_PASS, 0, 0, 0, 0});
    }
    std::vector<FilterVerdict> out;
    ASSERT_EQ(*verdicts_in.Receive(out, 0), 0u);  // sees 3, takes none
    Control(host, host.verdict_ring).producer.producer_index = kFirst + 1;
    ExpectVerdictsRefused("producer index went back from " + std::to_string(kFirst + 3) + " to " +
                          std::to_string(kFirst + 1));
}

TEST_F(HostilePeer, DataLeavesTheArea) {
    RawVerdict(kFirst, Changed(1000, 200));
    ExpectVerdictsRefused("verdict ring: entry " + std::to_string(kFirst) +
                          " data [1000, +200) leaves the 1024-byte verdict data area");
}

TEST_F(HostilePeer, OffsetPastTheArea) {
    RawVerdict(kFirst, Changed(1024, 0));
    ExpectVerdictsRefused("data [1024, +0) leaves the 1024-byte verdict data area");
}

TEST_F(HostilePeer, OffsetPlusLengthOverflows) {
    RawVerdict(kFirst, Changed(0xffffff00u, 0x200));
    ExpectVerdictsRefused("data [4294967040, +512) leaves");
}

TEST_F(HostilePeer, LengthWrapsPastTheOffset) {
    RawVerdict(kFirst, Changed(100, 0xffffffffu));
    ExpectVerdictsRefused("data [100, +4294967295) leaves");
}

TEST_F(HostilePeer, LengthOverHalfTheArea) {
    RawVerdict(kFirst, Changed(0, 600));
    ExpectVerdictsRefused("data length 600 exceeds 512, half the 1024-byte verdict data area");
}

TEST_F(HostilePeer, DataNotWhereInOrderAllocationPutsIt) {
    RawVerdict(kFirst, Changed(64, 10));
    ExpectVerdictsRefused("data [64, +10) is not where in-order allocation puts it (0)");
}

TEST_F(HostilePeer, SecondItemReusesTheFirstItemsBytes) {
    RawVerdict(kFirst, Changed(0, 100, 1));
    RawVerdict(kFirst + 1, Changed(0, 100, 2));
    ExpectVerdictsRefused("entry " + std::to_string(kFirst + 1) +
                          " data [0, +100) is not where in-order allocation puts it (100)");
}

TEST_F(HostilePeer, EmptyDataWithAnOffset) {
    RawVerdict(kFirst, Changed(8, 0));
    ExpectVerdictsRefused("data [8, +0) is not where in-order allocation puts it (0)");
}

TEST_F(HostilePeer, DataOverrunsBytesNotYetReleased) {
    RawVerdict(kFirst, Changed(0, 500, 1));
    RawVerdict(kFirst + 1, Changed(500, 500, 2));
    // In order, the third goes to the start again: over the first, unreleased.
    RawVerdict(kFirst + 2, Changed(0, 500, 3));
    ExpectVerdictsRefused("entry " + std::to_string(kFirst + 2) +
                          " data [0, +500) overruns bytes not yet released (1000 of the "
                          "1024-byte verdict data area in use)");
}

TEST_F(HostilePeer, UnknownVerdicts) {
    RawVerdict(kFirst, hvfilter_verdict{1, 9, 0, 0, 0, 0});
    ExpectVerdictsRefused("entry " + std::to_string(kFirst) +
                          " verdict 9 is not PASS (1), DROP (2) or CHANGED (3)");
}

TEST_F(HostilePeer, ZeroIsNoVerdict) {
    RawVerdict(kFirst, hvfilter_verdict{1, 0, 0, 0, 0, 0});
    ExpectVerdictsRefused("verdict 0 is not PASS");
}

TEST_F(HostilePeer, PassOrDropNamingData) {
    RawVerdict(kFirst, hvfilter_verdict{1, HVFILTER_VERDICT_DROP, 0, 0, 5, 0});
    ExpectVerdictsRefused("is DROP but names data [0, +5); only CHANGED may");
}

TEST_F(HostilePeer, ABadEntryRefusesItsWholeBatch) {
    const char changed[] = "changed";
    std::memcpy(VerdictData(host), changed, 7);
    RawVerdict(kFirst, Changed(0, 7, 1));
    RawVerdict(kFirst + 1, hvfilter_verdict{2, 77, 0, 0, 0, 0});
    // Nothing is released (the snapshot check) and nothing is handed out.
    ExpectVerdictsRefused("entry " + std::to_string(kFirst + 1) + " verdict 77");
    EXPECT_EQ(Control(host, host.verdict_ring).consumer.consumer_index, kFirst);
}

TEST_F(HostilePeer, TheHostsOwnRingIsRefusedWhenRequestsLie) {
    // The guest validates too: an unknown source from a broken host.
    RequestSlot(host, kFirst) = hvfilter_request{5, 3, 0, 0, 100, 0, 0, 0};
    Control(host, host.request_ring).producer.producer_index = kFirst + 1;
    std::vector<FilterRequest> out;
    Result<size_t> received = requests_in.Receive(out, 8);
    ASSERT_FALSE(received.ok());
    EXPECT_NE(received.status().message().find("request ring: entry " + std::to_string(kFirst) +
                                               " source 3 is not network (1) or file (2)"),
              std::string::npos)
        << received.status().message();
    EXPECT_TRUE(out.empty());
}

// Fills the request ring (8 entries) and publishes it.
void FillRequests(RequestProducer& producer, uint64_t first_id, int count) {
    for (int i = 0; i < count; ++i) {
        FilterRequest request;
        request.item_id = first_id + i;
        request.bytes = {1, 2, 3, 4};
        ASSERT_TRUE(producer.Stage(request).ok());
    }
    ASSERT_TRUE(producer.Publish().ok());
}

TEST_F(HostilePeer, ConsumerIndexAheadOfTheProducer) {
    FillRequests(requests_out, 0, 8);
    Control(host, host.request_ring).consumer.consumer_index = kFirst + 9;
    const std::vector<uint8_t> before = memory.Snapshot();
    FilterRequest request;
    Status staged = requests_out.Stage(request);
    EXPECT_EQ(staged.code(), ErrorCode::kRefused);
    EXPECT_NE(staged.message().find("request ring: consumer index 3 is outside [" +
                                    std::to_string(kFirst) + ", 2]"),
              std::string::npos)
        << staged.message();
    EXPECT_TRUE(memory.Snapshot() == before);
    Result<bool> publish = requests_out.Publish();
    EXPECT_FALSE(publish.ok()) << "broken for good";
}

TEST_F(HostilePeer, ConsumerIndexGoesBack) {
    FillRequests(requests_out, 0, 8);
    std::vector<FilterRequest> out;
    ASSERT_EQ(*requests_in.Receive(out, 4), 4u);
    FillRequests(requests_out, 8, 4);  // reads consumer index kFirst + 4
    Control(host, host.request_ring).consumer.consumer_index = kFirst + 2;
    const std::vector<uint8_t> before = memory.Snapshot();
    FilterRequest request;
    Status staged = requests_out.Stage(request);
    EXPECT_EQ(staged.code(), ErrorCode::kRefused);
    EXPECT_NE(
        staged.message().find("consumer index " + std::to_string(kFirst + 2) + " is outside [" +
                              std::to_string(kFirst + 4) + ", 6]: it may only advance"),
        std::string::npos)
        << staged.message();
    EXPECT_TRUE(memory.Snapshot() == before);
}

// Random lies in the verdict ring's control block, entries and data: each
// Receive either hands out well-placed items or refuses, and never touches
// memory outside the region (the guard pages would fault).
TEST_F(HostilePeer, RandomScribblesNeverEscapeTheRegion) {
    std::mt19937_64 random(77);
    const uint32_t edges[] = {0,    1,           7,           8,           9,          63,
                              64,   511,         512,         513,         1023,       1024,
                              1025, 0x7fffffffu, 0x80000000u, 0xfffffffeu, 0xffffffffu};
    auto value = [&]() -> uint32_t {
        if (random() % 2 == 0) return edges[random() % std::size(edges)];
        return static_cast<uint32_t>(random());
    };
    int refused = 0;
    for (int trial = 0; trial < 300; ++trial) {
        GuardedRegion scratch(*RequiredSize(SmallParams(kFirst)));
        FilterRegion region = *Format(scratch.memory(), SmallParams(kFirst));
        VerdictConsumer consumer(region);
        auto* words = reinterpret_cast<uint32_t*>(region.base + region.verdict_ring.offset);
        const size_t ring_words = (HVFILTER_RING_ENTRIES_OFFSET + 8 * sizeof(hvfilter_verdict)) / 4;
        for (int round = 0; round < 20; ++round) {
            for (int scribble = 0; scribble < 3; ++scribble) {
                words[random() % ring_words] = value();
            }
            if (random() % 2 == 0) {  // a plausible producer index, so entries get read
                const uint32_t consumed =
                    Control(region, region.verdict_ring).consumer.consumer_index;
                Control(region, region.verdict_ring).producer.producer_index =
                    consumed + static_cast<uint32_t>(random() % 10);
            }
            std::vector<FilterVerdict> out;
            Result<size_t> received = consumer.Receive(out, 8);
            if (!received.ok()) {
                EXPECT_EQ(received.status().code(), ErrorCode::kRefused);
                ++refused;
                break;
            }
            for (const FilterVerdict& verdict : out) {
                EXPECT_LE(verdict.changed_bytes.size(), 512u);
            }
        }
    }
    EXPECT_GT(refused, 0);
}

}  // namespace
}  // namespace hvkit::filter_ring
