// Every path through the dispatcher: verdicts, timeouts, overflow, absent and
// departing guests, late and unknown verdicts, and the poll timeout.
#include <gtest/gtest.h>

#include "hvfilterd_fakes.h"
#include "hvkit/filterd/dispatcher.h"

namespace hvkit::filterd {
namespace {

using std::chrono::microseconds;
using std::chrono::milliseconds;
using testing::ExactlyOnce;
using testing::FakeClock;
using testing::FakeLink;

constexpr SourceIndex kNet = 0;   // fail-open on timeout and absence, closed on overflow
constexpr SourceIndex kFile = 1;  // fail-closed everywhere

std::vector<SourcePolicy> Policies() {
    SourcePolicy net{"net",
                     milliseconds(50),
                     FailPolicy::kFailOpen,
                     FailPolicy::kFailOpen,
                     FailPolicy::kFailClosed,
                     2};
    SourcePolicy file{"file",
                      milliseconds(200),
                      FailPolicy::kFailClosed,
                      FailPolicy::kFailClosed,
                      FailPolicy::kFailClosed,
                      4};
    return {net, file};
}

class DispatcherTest : public ::testing::Test {
  protected:
    ItemId Submit(SourceIndex source, ExactlyOnce& probe) {
        Item item;
        item.payload = {1, 2, 3};
        item.reply = probe.reply();
        return dispatcher_.Submit(source, std::move(item));
    }

    FakeClock clock_;
    FakeLink link_;
    Dispatcher dispatcher_{Policies(), clock_, link_};
};

TEST_F(DispatcherTest, VerdictsAnswerPendingItems) {
    ExactlyOnce a(clock_), b(clock_), c(clock_);
    ItemId ia = Submit(kNet, a);
    ItemId ib = Submit(kNet, b);
    ItemId ic = Submit(kFile, c);
    EXPECT_EQ(link_.sent, (std::vector<ItemId>{ia, ib, ic}));
    EXPECT_EQ(SourceOf(ia), kNet);
    EXPECT_EQ(SourceOf(ic), kFile);
    EXPECT_EQ(dispatcher_.pending(), 3u);
    EXPECT_FALSE(a.answered());

    dispatcher_.OnVerdict(ia, Verdict::Pass());
    dispatcher_.OnVerdict(ib, Verdict::Changed({9, 9}));
    dispatcher_.OnVerdict(ic, Verdict::Drop());
    EXPECT_EQ(a.verdict().kind, VerdictKind::kPass);
    EXPECT_EQ(b.verdict().kind, VerdictKind::kChanged);
    EXPECT_EQ(b.verdict().bytes, (std::vector<uint8_t>{9, 9}));
    EXPECT_EQ(c.verdict().kind, VerdictKind::kDrop);
    EXPECT_EQ(dispatcher_.pending(), 0u);
    EXPECT_FALSE(dispatcher_.NextDeadline().has_value());

    SourceCounters net;
    net.submitted = 2;
    net.passed = 1;
    net.changed = 1;
    EXPECT_EQ(dispatcher_.counters(kNet), net);
    EXPECT_EQ(dispatcher_.counters(kFile).dropped, 1u);
}

TEST_F(DispatcherTest, TimeoutAnswersByPolicyAtTheDeadline) {
    ExactlyOnce net(clock_), file(clock_);
    TimePoint start = clock_.Now();
    Submit(kNet, net);
    Submit(kFile, file);
    clock_.Advance(milliseconds(49));
    dispatcher_.Tick();
    EXPECT_FALSE(net.answered());
    clock_.Advance(milliseconds(1));
    dispatcher_.Tick();
    ASSERT_TRUE(net.answered());
    EXPECT_EQ(net.verdict().kind, VerdictKind::kPass);  // fail-open
    EXPECT_EQ(net.at(), start + milliseconds(50));
    EXPECT_FALSE(file.answered());
    clock_.Advance(milliseconds(500));
    dispatcher_.Tick();
    EXPECT_EQ(file.verdict().kind, VerdictKind::kDrop);  // fail-closed

    EXPECT_EQ(dispatcher_.counters(kNet).timed_out, 1u);
    EXPECT_EQ(dispatcher_.counters(kNet).failed_open, 1u);
    EXPECT_EQ(dispatcher_.counters(kFile).timed_out, 1u);
    EXPECT_EQ(dispatcher_.counters(kFile).failed_closed, 1u);
}

TEST_F(DispatcherTest, LateVerdictAfterTimeoutAnswersNothing) {
    ExactlyOnce probe(clock_);
    ItemId id = Submit(kFile, probe);
    clock_.Advance(milliseconds(200));
    dispatcher_.Tick();
    dispatcher_.OnVerdict(id, Verdict::Pass());
    EXPECT_EQ(probe.verdict().kind, VerdictKind::kDrop);
    EXPECT_EQ(dispatcher_.counters(kFile).late_or_unknown, 1u);
    EXPECT_EQ(dispatcher_.counters(kFile).passed, 0u);
}

TEST_F(DispatcherTest, SecondVerdictAndUnknownIdsAreCounted) {
    ExactlyOnce probe(clock_);
    ItemId id = Submit(kNet, probe);
    dispatcher_.OnVerdict(id, Verdict::Drop());
    dispatcher_.OnVerdict(id, Verdict::Pass());
    dispatcher_.OnVerdict(id + 1000, Verdict::Pass());  // never issued, source kNet
    dispatcher_.OnVerdict(0, Verdict::Pass());
    dispatcher_.OnVerdict(ItemId{9} << 48, Verdict::Pass());  // no source 9
    EXPECT_EQ(probe.verdict().kind, VerdictKind::kDrop);
    EXPECT_EQ(dispatcher_.counters(kNet).late_or_unknown, 3u);
    EXPECT_EQ(dispatcher_.counters(kNet).dropped, 1u);
    EXPECT_EQ(dispatcher_.unattributed_verdicts(), 1u);
}

TEST_F(DispatcherTest, MaxPendingOverflowsByPolicy) {
    ExactlyOnce a(clock_), b(clock_), c(clock_);
    ItemId ia = Submit(kNet, a);
    Submit(kNet, b);
    Submit(kNet, c);  // max_pending is 2
    ASSERT_TRUE(c.answered());
    EXPECT_EQ(c.verdict().kind, VerdictKind::kDrop);
    EXPECT_EQ(link_.sent.size(), 2u);
    EXPECT_EQ(dispatcher_.counters(kNet).overflowed, 1u);
    EXPECT_EQ(dispatcher_.counters(kNet).failed_closed, 1u);
    // Room again once one is answered.
    dispatcher_.OnVerdict(ia, Verdict::Pass());
    ExactlyOnce d(clock_);
    ItemId id = Submit(kNet, d);
    EXPECT_FALSE(d.answered());
    dispatcher_.OnGuestGone();
    EXPECT_TRUE(b.answered());
    EXPECT_NE(id, 0u);
}

TEST_F(DispatcherTest, FullLinkOverflowsByPolicy) {
    ExactlyOnce probe(clock_);
    link_.next = SendOutcome::kFull;
    Submit(kNet, probe);
    ASSERT_TRUE(probe.answered());
    EXPECT_EQ(probe.verdict().kind, VerdictKind::kDrop);
    EXPECT_EQ(dispatcher_.counters(kNet).overflowed, 1u);
    EXPECT_EQ(dispatcher_.pending(), 0u);
    EXPECT_FALSE(dispatcher_.NextDeadline().has_value());
}

TEST_F(DispatcherTest, NoGuestAnswersByAbsencePolicy) {
    ExactlyOnce net(clock_), file(clock_);
    link_.attached = false;
    Submit(kNet, net);
    Submit(kFile, file);
    EXPECT_EQ(net.verdict().kind, VerdictKind::kPass);
    EXPECT_EQ(file.verdict().kind, VerdictKind::kDrop);
    EXPECT_TRUE(link_.sent.empty());
    EXPECT_EQ(dispatcher_.counters(kNet).guest_absent, 1u);
    EXPECT_EQ(dispatcher_.counters(kNet).failed_open, 1u);
    EXPECT_EQ(dispatcher_.counters(kFile).guest_absent, 1u);
    EXPECT_EQ(dispatcher_.counters(kFile).failed_closed, 1u);
}

TEST_F(DispatcherTest, BrokenLinkAnswersTheItemAndEverythingPending) {
    ExactlyOnce early(clock_), broken(clock_);
    ItemId first = Submit(kFile, early);
    link_.next = SendOutcome::kAbsent;
    Submit(kNet, broken);
    EXPECT_EQ(broken.verdict().kind, VerdictKind::kPass);  // net: fail-open when absent
    EXPECT_EQ(early.verdict().kind, VerdictKind::kDrop);
    EXPECT_EQ(dispatcher_.pending(), 0u);
    dispatcher_.OnVerdict(first, Verdict::Pass());
    EXPECT_EQ(dispatcher_.counters(kFile).late_or_unknown, 1u);
}

TEST_F(DispatcherTest, GuestGoneAnswersAllPendingAtOnce) {
    ExactlyOnce a(clock_), b(clock_), c(clock_);
    ItemId ia = Submit(kNet, a);
    Submit(kNet, b);
    Submit(kFile, c);
    dispatcher_.OnGuestGone();
    EXPECT_EQ(a.verdict().kind, VerdictKind::kPass);
    EXPECT_EQ(b.verdict().kind, VerdictKind::kPass);
    EXPECT_EQ(c.verdict().kind, VerdictKind::kDrop);
    EXPECT_EQ(dispatcher_.pending(), 0u);
    EXPECT_EQ(dispatcher_.pending(kNet), 0u);
    EXPECT_FALSE(dispatcher_.NextDeadline().has_value());
    EXPECT_EQ(dispatcher_.counters(kNet).guest_absent, 2u);
    dispatcher_.OnVerdict(ia, Verdict::Drop());
    clock_.Advance(milliseconds(1000));
    dispatcher_.Tick();
    EXPECT_EQ(dispatcher_.counters(kNet).late_or_unknown, 1u);
    EXPECT_EQ(dispatcher_.counters(kNet).timed_out, 0u);
}

TEST_F(DispatcherTest, NextDeadlineAndPollTimeout) {
    EXPECT_EQ(dispatcher_.PollTimeoutMs(), -1);
    ExactlyOnce a(clock_), b(clock_);
    TimePoint start = clock_.Now();
    Submit(kFile, a);
    clock_.Advance(milliseconds(10));
    Submit(kNet, b);
    EXPECT_EQ(dispatcher_.NextDeadline(), start + milliseconds(60));
    EXPECT_EQ(dispatcher_.PollTimeoutMs(), 50);
    clock_.Advance(microseconds(49500));
    EXPECT_EQ(dispatcher_.PollTimeoutMs(), 1);  // rounded up, never early
    clock_.Advance(microseconds(500));
    EXPECT_EQ(dispatcher_.PollTimeoutMs(), 0);
    dispatcher_.Tick();
    EXPECT_EQ(dispatcher_.NextDeadline(), start + milliseconds(200));
    clock_.Advance(milliseconds(500));
    EXPECT_EQ(dispatcher_.PollTimeoutMs(), 0);
    dispatcher_.Tick();
    EXPECT_EQ(dispatcher_.PollTimeoutMs(), -1);
}

TEST_F(DispatcherTest, RepliesMayCallBackIn) {
    ExactlyOnce second(clock_);
    auto first_calls = std::make_shared<int>(0);
    Item item;
    item.reply = [&, first_calls](const Verdict&) {
        ++*first_calls;
        Submit(kNet, second);  // e.g. the source feeds its next packet
    };
    dispatcher_.Submit(kNet, std::move(item));
    clock_.Advance(milliseconds(50));
    dispatcher_.Tick();
    EXPECT_EQ(*first_calls, 1);
    EXPECT_FALSE(second.answered());
    EXPECT_EQ(dispatcher_.pending(), 1u);
    clock_.Advance(milliseconds(50));
    dispatcher_.Tick();
    EXPECT_TRUE(second.answered());
}

TEST_F(DispatcherTest, VerdictDuringSendIsHonoured) {
    ExactlyOnce probe(clock_);
    link_.on_send = [&](const Item& item) { dispatcher_.OnVerdict(item.id, Verdict::Drop()); };
    Submit(kNet, probe);
    EXPECT_EQ(probe.verdict().kind, VerdictKind::kDrop);
    EXPECT_EQ(dispatcher_.counters(kNet).dropped, 1u);
    EXPECT_EQ(dispatcher_.pending(), 0u);
}

TEST_F(DispatcherTest, UnknownSourceIsDropped) {
    ExactlyOnce probe(clock_);
    EXPECT_EQ(Submit(7, probe), 0u);
    EXPECT_EQ(probe.verdict().kind, VerdictKind::kDrop);
    EXPECT_TRUE(link_.sent.empty());
}

TEST_F(DispatcherTest, StatsRenderAsJson) {
    ExactlyOnce a(clock_), b(clock_);
    ItemId id = Submit(kNet, a);
    Submit(kFile, b);
    dispatcher_.OnVerdict(id, Verdict::Pass());
    std::string json = DumpJson(dispatcher_.StatsJson(), 0);
    EXPECT_EQ(json,
              "{\"sources\":{"
              "\"file\":{\"changed\":0,\"dropped\":0,\"failed_closed\":0,\"failed_open\":0,"
              "\"guest_absent\":0,\"late_or_unknown\":0,\"overflowed\":0,\"passed\":0,"
              "\"pending\":1,\"submitted\":1,\"timed_out\":0},"
              "\"net\":{\"changed\":0,\"dropped\":0,\"failed_closed\":0,\"failed_open\":0,"
              "\"guest_absent\":0,\"late_or_unknown\":0,\"overflowed\":0,\"passed\":1,"
              "\"pending\":0,\"submitted\":1,\"timed_out\":0}},"
              "\"unattributed_verdicts\":0}");
    dispatcher_.OnGuestGone();
}

}  // namespace
}  // namespace hvkit::filterd
