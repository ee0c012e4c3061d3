// The deadline queue: earliest first, due means "at or before now".
#include <gtest/gtest.h>

#include "hvkit/filterd/deadline_queue.h"

namespace hvkit::filterd {
namespace {

using std::chrono::milliseconds;

TEST(DeadlineQueue, TakesDueEntriesEarliestFirst) {
    TimePoint t0;
    DeadlineQueue q;
    EXPECT_FALSE(q.Next().has_value());
    q.Add(3, t0 + milliseconds(30));
    q.Add(1, t0 + milliseconds(10));
    q.Add(2, t0 + milliseconds(10));
    q.Add(4, t0 + milliseconds(40));
    EXPECT_EQ(q.Next(), t0 + milliseconds(10));
    EXPECT_TRUE(q.TakeDue(t0 + milliseconds(9)).empty());
    EXPECT_EQ(q.TakeDue(t0 + milliseconds(30)), (std::vector<ItemId>{1, 2, 3}));
    EXPECT_EQ(q.size(), 1u);
    EXPECT_EQ(q.Next(), t0 + milliseconds(40));
}

TEST(DeadlineQueue, RemoveNeedsTheSameDeadline) {
    TimePoint t0;
    DeadlineQueue q;
    q.Add(7, t0 + milliseconds(5));
    EXPECT_FALSE(q.Remove(7, t0 + milliseconds(6)));
    EXPECT_FALSE(q.Remove(8, t0 + milliseconds(5)));
    EXPECT_TRUE(q.Remove(7, t0 + milliseconds(5)));
    EXPECT_FALSE(q.Remove(7, t0 + milliseconds(5)));
    EXPECT_TRUE(q.empty());
    EXPECT_TRUE(q.TakeDue(t0 + milliseconds(100)).empty());
}

}  // namespace
}  // namespace hvkit::filterd
