// Items and verdicts go round through both rings in batches, across the
// 2^32 wrap of the indexes and many wraps of the data areas, and arrive
// exactly as sent; full rings and full data areas are refused cleanly and
// recover once the consumer releases.
#include <gtest/gtest.h>

#include <cstdint>
#include <deque>
#include <random>
#include <string>

#include "guarded_region.h"
#include "hvkit/filter_region.h"
#include "hvkit/filter_ring.h"

namespace hvkit::filter_ring {
namespace {

using testing::Control;
using testing::GuardedRegion;
using testing::ItemBytes;
using testing::SmallParams;

// Host and guest ends of one region, as two processes would hold them: the
// host formats, the guest attaches.
struct RingPair {
    explicit RingPair(const RegionParams& params)
        : memory(*RequiredSize(params)),
          host(*Format(memory.memory(), params)),
          guest(*Attach(memory.memory())),
          requests_out(host),
          requests_in(guest),
          verdicts_out(guest),
          verdicts_in(host) {}

    GuardedRegion memory;
    FilterRegion host;
    FilterRegion guest;
    RequestProducer requests_out;
    RequestConsumer requests_in;
    VerdictProducer verdicts_out;
    VerdictConsumer verdicts_in;
};

FilterRequest MakeRequest(uint64_t id, size_t length) {
    FilterRequest request;
    request.item_id = id;
    request.source = id % 2 == 0 ? ItemSource::kNetwork : ItemSource::kFile;
    request.chain = static_cast<uint16_t>(id % 5);
    request.flags = id % 2 == 0 ? HVFILTER_REQUEST_F_MAY_CHANGE : 0;
    request.budget_us = static_cast<uint32_t>(1000 + id);
    request.bytes = ItemBytes(id, length);
    return request;
}

// The guest's answer to (request), a pure function so the host can check it.
FilterVerdict AnswerTo(const FilterRequest& request) {
    FilterVerdict verdict;
    verdict.item_id = request.item_id;
    switch (request.item_id % 3) {
        case 0:
            verdict.verdict = Verdict::kPass;
            break;
        case 1:
            verdict.verdict = Verdict::kDrop;
            verdict.module = 2;
            break;
        default:
            verdict.verdict = Verdict::kChanged;
            verdict.module = 1;
            verdict.changed_bytes = request.bytes;
            for (auto& byte : verdict.changed_bytes) byte ^= 0x5a;
            verdict.changed_bytes.resize(verdict.changed_bytes.size() / 2 + 1);
            break;
    }
    return verdict;
}

TEST(FilterRingRoundTrip, BatchesCrossTheIndexWrapAndWrapTheDataAreas) {
    const uint32_t first = 0xffffffffu - 37;
    RingPair rings(SmallParams(first));
    std::mt19937 random(12345);
    const uint64_t kItems = 3000;
    uint64_t next_id = 0;
    uint64_t bytes_sent = 0;
    std::deque<FilterRequest> expected_requests;
    std::deque<FilterVerdict> expected_verdicts;
    uint64_t verified = 0;

    // Host: takes every published verdict and checks it against the answer
    // the guest was expected to give.
    auto drain_verdicts = [&] {
        std::vector<FilterVerdict> verdicts;
        Result<size_t> answered = rings.verdicts_in.Receive(verdicts, 64);
        ASSERT_TRUE(answered.ok()) << answered.status().message();
        for (const FilterVerdict& verdict : verdicts) {
            ASSERT_FALSE(expected_verdicts.empty());
            const FilterVerdict& sent = expected_verdicts.front();
            ASSERT_EQ(verdict.item_id, sent.item_id);
            EXPECT_EQ(verdict.verdict, sent.verdict);
            EXPECT_EQ(verdict.module, sent.module);
            ASSERT_EQ(verdict.changed_bytes, sent.changed_bytes) << "item " << sent.item_id;
            expected_verdicts.pop_front();
            ++verified;
        }
    };

    while (verified < kItems) {
        // Host: a batch of up to 8 requests, up to half the data area each.
        const int batch = std::uniform_int_distribution<int>(1, 8)(random);
        for (int i = 0; i < batch && next_id < kItems; ++i) {
            const size_t length = std::uniform_int_distribution<size_t>(0, 512)(random);
            FilterRequest request = MakeRequest(next_id, length);
            Status staged = rings.requests_out.Stage(request);
            if (staged.code() == ErrorCode::kTooLarge) break;  // full: publish what we have
            ASSERT_TRUE(staged.ok()) << staged.message();
            bytes_sent += length;
            expected_requests.push_back(std::move(request));
            ++next_id;
        }
        ASSERT_TRUE(rings.requests_out.Publish().ok());

        // Guest: takes some of what is there, answers each.
        std::vector<FilterRequest> requests;
        const size_t take = std::uniform_int_distribution<size_t>(1, 8)(random);
        Result<size_t> received = rings.requests_in.Receive(requests, take);
        ASSERT_TRUE(received.ok()) << received.status().message();
        ASSERT_EQ(*received, requests.size());
        for (const FilterRequest& request : requests) {
            ASSERT_FALSE(expected_requests.empty());
            const FilterRequest& sent = expected_requests.front();
            ASSERT_EQ(request.item_id, sent.item_id);
            EXPECT_EQ(request.source, sent.source);
            EXPECT_EQ(request.chain, sent.chain);
            EXPECT_EQ(request.flags, sent.flags);
            EXPECT_EQ(request.budget_us, sent.budget_us);
            ASSERT_EQ(request.bytes, sent.bytes) << "item " << sent.item_id;
            expected_requests.pop_front();
            FilterVerdict verdict = AnswerTo(request);
            Status staged = rings.verdicts_out.Stage(verdict);
            if (staged.code() == ErrorCode::kTooLarge) {
                // Verdict ring or data full: let the host take what is there.
                ASSERT_TRUE(rings.verdicts_out.Publish().ok());
                drain_verdicts();
                ASSERT_FALSE(HasFatalFailure());
                staged = rings.verdicts_out.Stage(verdict);
            }
            ASSERT_TRUE(staged.ok()) << staged.message();
            expected_verdicts.push_back(std::move(verdict));
        }
        ASSERT_TRUE(rings.verdicts_out.Publish().ok());
        drain_verdicts();
        ASSERT_FALSE(HasFatalFailure());
    }
    EXPECT_TRUE(expected_requests.empty());
    // The indexes ran past 2^32 and the data areas round many times.
    const uint32_t producer = Control(rings.host, rings.host.request_ring).producer.producer_index;
    EXPECT_EQ(producer, static_cast<uint32_t>(first + kItems));
    EXPECT_LT(producer, first);
    EXPECT_GT(bytes_sent, 500u * 1024);
}

TEST(FilterRingRoundTrip, FullRingIsRefusedAndRecovers) {
    RingPair rings(SmallParams(0xfffffffdu));
    for (uint64_t id = 0; id < 8; ++id) {
        ASSERT_TRUE(rings.requests_out.Stage(MakeRequest(id, 10)).ok());
    }
    Status full = rings.requests_out.Stage(MakeRequest(8, 10));
    EXPECT_EQ(full.code(), ErrorCode::kTooLarge);
    EXPECT_NE(full.message().find("request ring: full (8 entries"), std::string::npos)
        << full.message();
    ASSERT_TRUE(rings.requests_out.Publish().ok());
    EXPECT_EQ(rings.requests_out.Stage(MakeRequest(8, 10)).code(), ErrorCode::kTooLarge);

    std::vector<FilterRequest> requests;
    ASSERT_EQ(*rings.requests_in.Receive(requests, 3), 3u);
    for (uint64_t id = 8; id < 11; ++id) {
        ASSERT_TRUE(rings.requests_out.Stage(MakeRequest(id, 10)).ok()) << id;
    }
    EXPECT_EQ(rings.requests_out.Stage(MakeRequest(11, 10)).code(), ErrorCode::kTooLarge);
    ASSERT_TRUE(rings.requests_out.Publish().ok());
    ASSERT_EQ(*rings.requests_in.Receive(requests, 100), 8u);
    ASSERT_EQ(requests.size(), 11u);
    for (uint64_t id = 0; id < 11; ++id) {
        EXPECT_EQ(requests[id].item_id, id);
        EXPECT_EQ(requests[id].bytes, ItemBytes(id, 10));
    }
}

TEST(FilterRingRoundTrip, FullDataAreaIsRefusedAndRecovers) {
    RingPair rings(SmallParams());
    // 1024-byte area: 400 + 400 fit, a third 400 does not (it would need
    // the 224-byte tail as padding plus 400 bytes at the start).
    ASSERT_TRUE(rings.requests_out.Stage(MakeRequest(0, 400)).ok());
    ASSERT_TRUE(rings.requests_out.Stage(MakeRequest(1, 400)).ok());
    Status full = rings.requests_out.Stage(MakeRequest(2, 400));
    EXPECT_EQ(full.code(), ErrorCode::kTooLarge);
    EXPECT_NE(full.message().find("request data area: no room for 400 bytes"), std::string::npos)
        << full.message();
    // A small item still fits in the tail.
    ASSERT_TRUE(rings.requests_out.Stage(MakeRequest(3, 200)).ok());
    ASSERT_TRUE(rings.requests_out.Publish().ok());

    std::vector<FilterRequest> requests;
    ASSERT_EQ(*rings.requests_in.Receive(requests, 1), 1u);
    // The first 400 bytes are free again: 400 more now fit, padded to the
    // area's start.
    ASSERT_TRUE(rings.requests_out.Stage(MakeRequest(2, 400)).ok());
    ASSERT_TRUE(rings.requests_out.Publish().ok());
    ASSERT_EQ(*rings.requests_in.Receive(requests, 8), 3u);
    ASSERT_EQ(requests.size(), 4u);
    EXPECT_EQ(requests[1].bytes, ItemBytes(1, 400));
    EXPECT_EQ(requests[2].bytes, ItemBytes(3, 200));
    EXPECT_EQ(requests[3].bytes, ItemBytes(2, 400));
}

TEST(FilterRingRoundTrip, ItemOverHalfTheDataAreaIsInvalidAndHarmless) {
    RingPair rings(SmallParams());
    Status too_big = rings.requests_out.Stage(MakeRequest(0, 513));
    EXPECT_EQ(too_big.code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(too_big.message().find("exceeds 512, half the 1024-byte request data area"),
              std::string::npos)
        << too_big.message();
    ASSERT_TRUE(rings.requests_out.Stage(MakeRequest(1, 512)).ok());
    ASSERT_TRUE(rings.requests_out.Publish().ok());
    std::vector<FilterRequest> requests;
    ASSERT_EQ(*rings.requests_in.Receive(requests, 8), 1u);
    EXPECT_EQ(requests[0].item_id, 1u);
}

TEST(FilterRingRoundTrip, EmptyItemsAndEmptyChangesGoThrough) {
    RingPair rings(SmallParams());
    ASSERT_TRUE(rings.requests_out.Stage(MakeRequest(0, 0)).ok());
    ASSERT_TRUE(rings.requests_out.Publish().ok());
    std::vector<FilterRequest> requests;
    ASSERT_EQ(*rings.requests_in.Receive(requests, 8), 1u);
    EXPECT_TRUE(requests[0].bytes.empty());
    FilterVerdict verdict;
    verdict.item_id = 0;
    verdict.verdict = Verdict::kChanged;  // changed to nothing
    ASSERT_TRUE(rings.verdicts_out.Stage(verdict).ok());
    ASSERT_TRUE(rings.verdicts_out.Publish().ok());
    std::vector<FilterVerdict> verdicts;
    ASSERT_EQ(*rings.verdicts_in.Receive(verdicts, 8), 1u);
    EXPECT_EQ(verdicts[0].verdict, Verdict::kChanged);
    EXPECT_TRUE(verdicts[0].changed_bytes.empty());
}

TEST(FilterRingRoundTrip, ProducersRefuseItemsTheAbiCannotCarry) {
    RingPair rings(SmallParams());
    FilterRequest request = MakeRequest(0, 4);
    request.source = static_cast<ItemSource>(9);
    EXPECT_EQ(rings.requests_out.Stage(request).code(), ErrorCode::kInvalidArgument);

    FilterVerdict verdict;
    verdict.verdict = Verdict::kPass;
    verdict.changed_bytes = {1, 2, 3};
    EXPECT_EQ(rings.verdicts_out.Stage(verdict).code(), ErrorCode::kInvalidArgument);
    verdict.verdict = static_cast<Verdict>(0);
    verdict.changed_bytes.clear();
    EXPECT_EQ(rings.verdicts_out.Stage(verdict).code(), ErrorCode::kInvalidArgument);
    // Nothing was staged.
    EXPECT_FALSE(*rings.requests_out.Publish());
    std::vector<FilterVerdict> verdicts;
    ASSERT_TRUE(rings.verdicts_out.Publish().ok());
    EXPECT_EQ(*rings.verdicts_in.Receive(verdicts, 8), 0u);
}

}  // namespace
}  // namespace hvkit::filter_ring
