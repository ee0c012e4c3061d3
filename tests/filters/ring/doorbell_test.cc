// Doorbell suppression: a producer is told to kick exactly when the consumer
// armed its doorbell having taken everything, once per sleep, never while
// the consumer is polling.
#include <gtest/gtest.h>

#include "guarded_region.h"
#include "hvkit/filter_region.h"
#include "hvkit/filter_ring.h"

namespace hvkit::filter_ring {
namespace {

using testing::Control;
using testing::GuardedRegion;
using testing::SmallParams;

struct DoorbellFixture : ::testing::Test {
    DoorbellFixture()
        : memory(*RequiredSize(SmallParams(0xfffffffeu))),
          host(*Format(memory.memory(), SmallParams(0xfffffffeu))),
          guest(*Attach(memory.memory())),
          producer(host),
          consumer(guest) {}

    // Stages one small request and publishes it. -> whether to kick.
    bool SendOne() {
        FilterRequest request;
        request.item_id = next_id++;
        request.bytes = {1, 2, 3};
        EXPECT_TRUE(producer.Stage(request).ok());
        Result<bool> kick = producer.Publish();
        EXPECT_TRUE(kick.ok()) << kick.status().message();
        return kick.ok() && *kick;
    }
    size_t ReceiveAll() {
        std::vector<FilterRequest> requests;
        Result<size_t> count = consumer.Receive(requests, 100);
        EXPECT_TRUE(count.ok()) << count.status().message();
        return count.ok() ? *count : 0;
    }
    uint32_t ArmedFlag() { return Control(host, host.request_ring).consumer.doorbell_armed; }

    GuardedRegion memory;
    FilterRegion host;
    FilterRegion guest;
    RequestProducer producer;
    RequestConsumer consumer;
    uint64_t next_id = 0;
};

TEST_F(DoorbellFixture, NoKickWhileTheConsumerPolls) {
    EXPECT_FALSE(SendOne());
    EXPECT_FALSE(SendOne());
    EXPECT_EQ(ReceiveAll(), 2u);
    EXPECT_FALSE(SendOne());
    EXPECT_EQ(ArmedFlag(), 0u);
}

TEST_F(DoorbellFixture, OneKickPerSleepAcrossTheIndexWrap) {
    for (int sleep = 0; sleep < 4; ++sleep) {  // indexes start 2 below the wrap
        Result<bool> may_sleep = consumer.PrepareToSleep();
        ASSERT_TRUE(may_sleep.ok());
        EXPECT_TRUE(*may_sleep);
        EXPECT_EQ(ArmedFlag(), 1u);
        EXPECT_TRUE(SendOne()) << "the first batch after arming kicks";
        EXPECT_FALSE(SendOne()) << "the consumer was kicked already";
        EXPECT_EQ(ReceiveAll(), 2u);
        EXPECT_EQ(ArmedFlag(), 0u) << "Receive disarms";
        EXPECT_FALSE(SendOne());
        EXPECT_EQ(ReceiveAll(), 1u);
    }
}

TEST_F(DoorbellFixture, ABatchKicksOnce) {
    ASSERT_TRUE(*consumer.PrepareToSleep());
    for (int i = 0; i < 5; ++i) {
        FilterRequest request;
        request.item_id = next_id++;
        ASSERT_TRUE(producer.Stage(request).ok());
    }
    EXPECT_TRUE(*producer.Publish());
    EXPECT_FALSE(*producer.Publish()) << "nothing staged: no store, no kick";
    EXPECT_EQ(ReceiveAll(), 5u);
}

TEST_F(DoorbellFixture, ConsumerDoesNotSleepOnPublishedEntries) {
    EXPECT_FALSE(SendOne());
    Result<bool> may_sleep = consumer.PrepareToSleep();
    ASSERT_TRUE(may_sleep.ok());
    EXPECT_FALSE(*may_sleep) << "an entry is waiting";
    // Armed but behind: the next batch must not kick (the consumer is awake).
    EXPECT_FALSE(SendOne());
    EXPECT_EQ(ReceiveAll(), 2u);
    ASSERT_TRUE(*consumer.PrepareToSleep());
    EXPECT_TRUE(SendOne());
}

TEST_F(DoorbellFixture, VerdictRingHasItsOwnDoorbell) {
    VerdictProducer verdicts_out(guest);
    VerdictConsumer verdicts_in(host);
    ASSERT_TRUE(*verdicts_in.PrepareToSleep());
    FilterVerdict verdict;
    verdict.item_id = 1;
    ASSERT_TRUE(verdicts_out.Stage(verdict).ok());
    EXPECT_TRUE(*verdicts_out.Publish());
    EXPECT_FALSE(SendOne()) << "the request ring's consumer never armed";
}

}  // namespace
}  // namespace hvkit::filter_ring
