// The verdict batching rule: a batch only for a run of same plain verdicts
// starting at the oldest packet the kernel holds.
#include <gtest/gtest.h>

#include <linux/netfilter.h>

#include <vector>

#include "hvkit/filterd/verdict_batch.h"

namespace hvkit::filterd {
namespace {

HeldPacket Accept() {
    return {true, NF_ACCEPT, false};
}
HeldPacket Drop() {
    return {true, NF_DROP, false};
}
HeldPacket Changed() {
    return {true, NF_ACCEPT, true};
}
HeldPacket Waiting() {
    return {false, 0, false};
}

struct M {
    size_t first, last;
    bool batch;
    bool operator==(const VerdictMessage& m) const {
        return m.first == first && m.last == last && m.batch == batch;
    }
};

void ExpectPlan(const std::vector<HeldPacket>& held, const std::vector<M>& want) {
    std::vector<VerdictMessage> got = PlanVerdicts(held);
    ASSERT_EQ(got.size(), want.size());
    for (size_t i = 0; i < want.size(); ++i) {
        EXPECT_TRUE(want[i] == got[i]) << "message " << i << ": got [" << got[i].first << ", "
                                       << got[i].last << "] batch=" << got[i].batch;
    }
}

TEST(VerdictBatch, NothingAnsweredNothingSent) {
    ExpectPlan({}, {});
    ExpectPlan({Waiting(), Waiting()}, {});
}

TEST(VerdictBatch, OneRunOfSameVerdictsIsOneBatch) {
    ExpectPlan({Accept(), Accept(), Accept()}, {{0, 2, true}});
}

TEST(VerdictBatch, SingleAnswerIsNotABatch) {
    ExpectPlan({Drop()}, {{0, 0, false}});
}

TEST(VerdictBatch, RunsSplitWhereTheVerdictChanges) {
    ExpectPlan({Accept(), Accept(), Drop(), Drop(), Accept()},
               {{0, 1, true}, {2, 3, true}, {4, 4, false}});
}

TEST(VerdictBatch, ChangedIsAlwaysSingle) {
    ExpectPlan({Accept(), Changed(), Accept(), Accept()},
               {{0, 0, false}, {1, 1, false}, {2, 3, true}});
    ExpectPlan({Changed(), Changed()}, {{0, 0, false}, {1, 1, false}});
}

TEST(VerdictBatch, NoBatchPastAnUnansweredPacket) {
    // A batch on packet 3 would also answer packet 1, which the guest still holds.
    ExpectPlan({Accept(), Waiting(), Accept(), Accept()},
               {{0, 0, false}, {2, 2, false}, {3, 3, false}});
    ExpectPlan({Waiting(), Drop(), Drop()}, {{1, 1, false}, {2, 2, false}});
}

}  // namespace
}  // namespace hvkit::filterd
