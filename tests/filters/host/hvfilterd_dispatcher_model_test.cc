// 10,000 random interleavings of submit, verdict, clock, tick and guest loss,
// each checked step by step against a plain model of the dispatcher's
// promises: every item is answered exactly once, by the verdict or policy the
// model expects, never before its deadline by timeout and never later than
// the first tick past it; and the counters add up.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>

#include "hvfilterd_fakes.h"
#include "hvkit/filterd/dispatcher.h"

namespace hvkit::filterd {
namespace {

using std::chrono::microseconds;
using std::chrono::milliseconds;
using testing::FakeClock;
using testing::FakeLink;
using testing::RecordingReply;
using testing::ReplyRecord;

constexpr int kRuns = 10000;
constexpr int kStepsPerRun = 60;

std::vector<SourcePolicy> Policies() {
    return {
        {"a", milliseconds(50), FailPolicy::kFailOpen, FailPolicy::kFailOpen,
         FailPolicy::kFailClosed, 3},
        {"b", milliseconds(20), FailPolicy::kFailClosed, FailPolicy::kFailOpen,
         FailPolicy::kFailOpen, 5},
        {"c", milliseconds(120), FailPolicy::kFailClosed, FailPolicy::kFailClosed,
         FailPolicy::kFailClosed, 2},
    };
}

struct ModelItem {
    SourceIndex source = 0;
    TimePoint deadline;
    bool pending = false;
    bool answered = false;
    VerdictKind expected = VerdictKind::kPass;
    bool by_timeout = false;
    std::shared_ptr<ReplyRecord> record = std::make_shared<ReplyRecord>();
};

// One run: the dispatcher under test and the model beside it.
class ModelRun {
  public:
    explicit ModelRun(uint64_t seed) : rng_(seed) {}

    void Run() {
        for (int step = 0; step < kStepsPerRun && !::testing::Test::HasFailure(); ++step) {
            Step();
            Check();
        }
        dispatcher_.OnGuestGone();
        for (auto& [id, item] : items_) {
            if (item.pending) Answer(item, Reason::kAbsent);
        }
        Check();
        CheckCountersAddUp();
    }

  private:
    enum class Reason { kTimeout, kAbsent, kOverflow };

    uint32_t Pick(uint32_t n) { return std::uniform_int_distribution<uint32_t>(0, n - 1)(rng_); }

    void Step() {
        uint32_t roll = Pick(100);
        if (roll < 40) {
            Submit();
        } else if (roll < 65) {
            SendVerdict();
        } else if (roll < 85) {
            // Often exactly onto a deadline, where "due" must include "now".
            std::optional<TimePoint> next = dispatcher_.NextDeadline();
            if (next && Pick(3) == 0) {
                clock_.Advance(*next - clock_.Now());
            } else {
                clock_.Advance(microseconds(Pick(120000)));
            }
        } else if (roll < 97) {
            Tick();
        } else {
            dispatcher_.OnGuestGone();
            for (auto& [id, item] : items_) {
                if (item.pending) Answer(item, Reason::kAbsent);
            }
        }
    }

    void Submit() {
        auto source = static_cast<SourceIndex>(Pick(3));
        link_.attached = Pick(10) != 0;
        uint32_t roll = Pick(20);
        link_.next = roll < 17   ? SendOutcome::kSent
                     : roll < 19 ? SendOutcome::kFull
                                 : SendOutcome::kAbsent;
        ModelItem item;
        item.source = source;
        Item real;
        real.reply = RecordingReply(item.record, clock_);
        ItemId id = dispatcher_.Submit(source, std::move(real));
        ASSERT_EQ(SourceOf(id), source);
        ASSERT_EQ(items_.count(id), 0u) << "id reused";
        ModelItem& m = items_.emplace(id, std::move(item)).first->second;
        ++expected_[source].submitted;
        if (!link_.attached) return Answer(m, Reason::kAbsent);
        if (PendingCount(source) >= policies_[source].max_pending) {
            return Answer(m, Reason::kOverflow);
        }
        if (link_.next == SendOutcome::kFull) return Answer(m, Reason::kOverflow);
        if (link_.next == SendOutcome::kAbsent) {
            Answer(m, Reason::kAbsent);
            for (auto& [other_id, other] : items_) {
                if (other.pending) Answer(other, Reason::kAbsent);
            }
            return;
        }
        m.pending = true;
        m.deadline = clock_.Now() + policies_[source].deadline;
    }

    void SendVerdict() {
        static constexpr VerdictKind kKinds[] = {VerdictKind::kPass, VerdictKind::kDrop,
                                                 VerdictKind::kChanged};
        VerdictKind kind = kKinds[Pick(3)];
        ItemId id;
        uint32_t roll = Pick(10);
        if (roll < 7 && !items_.empty()) {
            auto it = items_.begin();
            std::advance(it, Pick(static_cast<uint32_t>(items_.size())));
            id = it->first;  // pending or already answered
        } else {
            // Never issued: a sequence far past any run, or a source that does not exist.
            id = (ItemId{Pick(4)} << 48) | (ItemId{1} << 40) | Pick(1000);
        }
        Verdict v{kind,
                  kind == VerdictKind::kChanged ? std::vector<uint8_t>{7} : std::vector<uint8_t>{}};
        dispatcher_.OnVerdict(id, v);
        SourceIndex source = SourceOf(id);
        if (source >= policies_.size()) {
            ++unattributed_;
            return;
        }
        auto it = items_.find(id);
        if (it == items_.end() || !it->second.pending) {
            ++expected_[source].late_or_unknown;
            return;
        }
        ModelItem& m = it->second;
        m.pending = false;
        m.answered = true;
        m.expected = kind;
        SourceCounters& c = expected_[source];
        ++(kind == VerdictKind::kPass   ? c.passed
           : kind == VerdictKind::kDrop ? c.dropped
                                        : c.changed);
    }

    void Tick() {
        dispatcher_.Tick();
        TimePoint now = clock_.Now();
        for (auto& [id, item] : items_) {
            if (item.pending && item.deadline <= now) Answer(item, Reason::kTimeout);
        }
        // Nothing past due survives a tick.
        std::optional<TimePoint> next = dispatcher_.NextDeadline();
        if (next) {
            EXPECT_GT(*next, now);
        }
    }

    // The model's policy decision for (m).
    void Answer(ModelItem& m, Reason reason) {
        const SourcePolicy& p = policies_[m.source];
        SourceCounters& c = expected_[m.source];
        FailPolicy policy = reason == Reason::kTimeout  ? p.on_timeout
                            : reason == Reason::kAbsent ? p.on_guest_absent
                                                        : p.on_overflow;
        ++(reason == Reason::kTimeout  ? c.timed_out
           : reason == Reason::kAbsent ? c.guest_absent
                                       : c.overflowed);
        bool open = policy == FailPolicy::kFailOpen;
        ++(open ? c.failed_open : c.failed_closed);
        m.pending = false;
        m.answered = true;
        m.by_timeout = reason == Reason::kTimeout;
        m.expected = open ? VerdictKind::kPass : VerdictKind::kDrop;
    }

    size_t PendingCount(SourceIndex source) const {
        return std::count_if(items_.begin(), items_.end(), [&](const auto& entry) {
            return entry.second.pending && entry.second.source == source;
        });
    }

    // The dispatcher agrees with the model on every item, every count and the next deadline.
    void Check() {
        std::optional<TimePoint> earliest;
        for (const auto& [id, m] : items_) {
            ASSERT_EQ(m.record->calls, m.answered ? 1 : 0) << "item " << id;
            if (m.answered) {
                ASSERT_EQ(m.record->verdict.kind, m.expected) << "item " << id;
            }
            if (m.by_timeout) {
                ASSERT_GE(m.record->at, m.deadline) << "item " << id;
            }
            if (m.pending && (!earliest || m.deadline < *earliest)) earliest = m.deadline;
        }
        ASSERT_EQ(dispatcher_.NextDeadline(), earliest);
        for (SourceIndex s = 0; s < policies_.size(); ++s) {
            ASSERT_EQ(dispatcher_.counters(s), expected_[s]) << "source " << s;
            ASSERT_EQ(dispatcher_.pending(s), PendingCount(s));
        }
        ASSERT_EQ(dispatcher_.unattributed_verdicts(), unattributed_);
    }

    void CheckCountersAddUp() {
        ASSERT_EQ(dispatcher_.pending(), 0u);
        uint64_t submitted = 0;
        for (SourceIndex s = 0; s < policies_.size(); ++s) {
            const SourceCounters& c = dispatcher_.counters(s);
            EXPECT_EQ(c.submitted,
                      c.passed + c.dropped + c.changed + c.failed_open + c.failed_closed);
            EXPECT_EQ(c.timed_out + c.guest_absent + c.overflowed, c.failed_open + c.failed_closed);
            submitted += c.submitted;
        }
        EXPECT_EQ(submitted, items_.size());
    }

    std::mt19937_64 rng_;
    FakeClock clock_;
    FakeLink link_;
    std::vector<SourcePolicy> policies_ = Policies();
    Dispatcher dispatcher_{Policies(), clock_, link_};
    std::map<ItemId, ModelItem> items_;
    SourceCounters expected_[3];
    uint64_t unattributed_ = 0;
};

TEST(DispatcherModel, RandomInterleavingsKeepEveryPromise) {
    for (int seed = 1; seed <= kRuns && !::testing::Test::HasFailure(); ++seed) {
        SCOPED_TRACE("seed " + std::to_string(seed));
        ModelRun(static_cast<uint64_t>(seed)).Run();
    }
}

}  // namespace
}  // namespace hvkit::filterd
