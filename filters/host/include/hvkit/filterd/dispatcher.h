// The heart of hvfilterd: every intercepted item goes to the guest with a
// deadline, and every item is answered exactly once - by the guest's
// verdict, or by the source's policy on timeout, guest absence or overflow.
// Single-threaded: the event loop calls everything (docs/filters.md).
#pragma once

#include <cstddef>
#include <optional>
#include <unordered_map>
#include <vector>

#include "hvkit/filterd/clock.h"
#include "hvkit/filterd/deadline_queue.h"
#include "hvkit/filterd/guest_link.h"
#include "hvkit/filterd/item.h"
#include "hvkit/filterd/source_counters.h"
#include "hvkit/filterd/source_policy.h"
#include "hvkit/json.h"

namespace hvkit::filterd {

class Dispatcher {
  public:
    // Source i of (sources) is SourceIndex i; at most 65536 sources. (clock)
    // and (link) must outlive the dispatcher.
    Dispatcher(std::vector<SourcePolicy> sources, const Clock& clock, GuestLink& link);

    // Takes (item) from source (source) and returns the id it was given.
    // No guest attached, or the link reports it absent: answered now by
    // on_guest_absent (and, for a broken link, OnGuestGone follows). The
    // source's max_pending reached or the link full: answered now by
    // on_overflow. Otherwise pending until a verdict or now + deadline.
    // A (source) out of range is a caller bug: the item is answered DROP.
    ItemId Submit(SourceIndex source, Item item);

    // The guest's (verdict) for item (id). An id that is not pending - never
    // issued, already answered by a policy, or answered before - changes
    // nothing and counts as late_or_unknown.
    void OnVerdict(ItemId id, Verdict verdict);

    // Answers by on_timeout every item whose deadline is at or before now.
    void Tick();

    // The guest went away: answers every pending item by on_guest_absent.
    void OnGuestGone();

    // The earliest pending deadline: when Tick has work next.
    std::optional<TimePoint> NextDeadline() const;

    // NextDeadline as a poll(2) timeout from now: -1 when nothing is
    // pending, 0 when something is due, else milliseconds rounded up so the
    // loop never wakes before the deadline.
    int PollTimeoutMs() const;

    const SourceCounters& counters(SourceIndex source) const { return sources_[source].counters; }
    size_t pending() const { return pending_.size(); }
    size_t pending(SourceIndex source) const { return sources_[source].pending; }
    // Verdicts whose id names no configured source.
    uint64_t unattributed_verdicts() const { return unattributed_verdicts_; }

    // {"sources": {"<name>": {counters..., "pending": n}}, "unattributed_verdicts": n}
    Json StatsJson() const;

  private:
    enum class Reason { kTimeout, kGuestAbsent, kOverflow };

    struct SourceState {
        SourcePolicy policy;
        SourceCounters counters;
        size_t pending = 0;
    };

    struct PendingItem {
        TimePoint deadline;
        Reply reply;
    };

    // Removes (id) from the pending items and returns it, if it was there.
    std::optional<PendingItem> Take(ItemId id);

    // Answers for source (source) by its policy for (reason), counting both.
    void Decide(SourceIndex source, Reason reason, const Reply& reply);

    std::vector<SourceState> sources_;
    const Clock& clock_;
    GuestLink& link_;
    std::unordered_map<ItemId, PendingItem> pending_;
    DeadlineQueue deadlines_;
    uint64_t next_sequence_ = 0;
    uint64_t unattributed_verdicts_ = 0;
};

// The source index an item id carries.
inline SourceIndex SourceOf(ItemId id) {
    return static_cast<SourceIndex>(id >> 48);
}

}  // namespace hvkit::filterd
