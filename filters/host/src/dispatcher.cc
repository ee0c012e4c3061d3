// Answering every item exactly once, by verdict or by policy. A pending item
// is always removed from the books before its reply runs, so a reply that
// calls back into the dispatcher finds consistent state and nothing can
// answer the same item again.
#include "hvkit/filterd/dispatcher.h"

#include <algorithm>
#include <climits>
#include <tuple>

namespace hvkit::filterd {

namespace {

constexpr uint64_t kSequenceMask = (uint64_t{1} << 48) - 1;

ItemId MakeId(SourceIndex source, uint64_t sequence) {
    return (uint64_t{source} << 48) | (sequence & kSequenceMask);
}

}  // namespace

Dispatcher::Dispatcher(std::vector<SourcePolicy> sources, const Clock& clock, GuestLink& link)
    : clock_(clock), link_(link) {
    for (SourcePolicy& p : sources) sources_.push_back(SourceState{std::move(p), {}, 0});
}

ItemId Dispatcher::Submit(SourceIndex source, Item item) {
    if (source >= sources_.size()) {
        if (item.reply) item.reply(Verdict::Drop());
        return 0;
    }
    SourceState& s = sources_[source];
    // 2^48 items wrap only after centuries; sequence 0 is skipped so id 0
    // never names an item.
    if (((++next_sequence_) & kSequenceMask) == 0) ++next_sequence_;
    ItemId id = MakeId(source, next_sequence_);
    item.id = id;
    item.source = source;
    ++s.counters.submitted;
    if (!link_.Attached()) {
        Decide(source, Reason::kGuestAbsent, item.reply);
        return id;
    }
    if (s.pending >= s.policy.max_pending) {
        Decide(source, Reason::kOverflow, item.reply);
        return id;
    }
    // Booked before sending, so a verdict that arrives during Send finds it.
    TimePoint deadline = clock_.Now() + s.policy.deadline;
    pending_.emplace(id, PendingItem{deadline, item.reply});
    deadlines_.Add(id, deadline);
    ++s.pending;
    SendOutcome outcome = link_.Send(item);
    if (outcome == SendOutcome::kSent) return id;
    std::optional<PendingItem> unsent = Take(id);
    if (!unsent) return id;  // answered during Send
    if (outcome == SendOutcome::kFull) {
        Decide(source, Reason::kOverflow, unsent->reply);
    } else {
        Decide(source, Reason::kGuestAbsent, unsent->reply);
        // A broken ring returns no verdicts: nothing pending can be answered.
        OnGuestGone();
    }
    return id;
}

void Dispatcher::OnVerdict(ItemId id, Verdict verdict) {
    SourceIndex source = SourceOf(id);
    if (source >= sources_.size()) {
        ++unattributed_verdicts_;
        return;
    }
    SourceCounters& c = sources_[source].counters;
    std::optional<PendingItem> item = Take(id);
    if (!item) {
        ++c.late_or_unknown;
        return;
    }
    switch (verdict.kind) {
        case VerdictKind::kPass:
            ++c.passed;
            break;
        case VerdictKind::kDrop:
            ++c.dropped;
            break;
        case VerdictKind::kChanged:
            ++c.changed;
            break;
    }
    if (item->reply) item->reply(verdict);
}

void Dispatcher::Tick() {
    for (ItemId id : deadlines_.TakeDue(clock_.Now())) {
        std::optional<PendingItem> item = Take(id);
        if (item) Decide(SourceOf(id), Reason::kTimeout, item->reply);
    }
}

void Dispatcher::OnGuestGone() {
    std::vector<std::pair<ItemId, PendingItem>> gone(pending_.begin(), pending_.end());
    pending_.clear();
    deadlines_.Clear();
    for (SourceState& s : sources_) s.pending = 0;
    std::sort(gone.begin(), gone.end(), [](const auto& a, const auto& b) {
        return std::tie(a.second.deadline, a.first) < std::tie(b.second.deadline, b.first);
    });
    for (auto& [id, item] : gone) Decide(SourceOf(id), Reason::kGuestAbsent, item.reply);
}

std::optional<TimePoint> Dispatcher::NextDeadline() const {
    return deadlines_.Next();
}

int Dispatcher::PollTimeoutMs() const {
    std::optional<TimePoint> next = NextDeadline();
    if (!next) return -1;
    auto left = *next - clock_.Now();
    if (left <= left.zero()) return 0;
    auto ms = std::chrono::ceil<std::chrono::milliseconds>(left).count();
    return static_cast<int>(std::min<decltype(ms)>(ms, INT_MAX));
}

Json Dispatcher::StatsJson() const {
    Json by_name = Json::MakeObject();
    for (const SourceState& s : sources_) {
        Json entry = CountersJson(s.counters);
        entry["pending"] = Json(static_cast<uint64_t>(s.pending));
        by_name[s.policy.name] = std::move(entry);
    }
    Json out = Json::MakeObject();
    out["sources"] = std::move(by_name);
    out["unattributed_verdicts"] = Json(unattributed_verdicts_);
    return out;
}

std::optional<Dispatcher::PendingItem> Dispatcher::Take(ItemId id) {
    auto it = pending_.find(id);
    if (it == pending_.end()) return std::nullopt;
    PendingItem item = std::move(it->second);
    pending_.erase(it);
    deadlines_.Remove(id, item.deadline);
    --sources_[SourceOf(id)].pending;
    return item;
}

void Dispatcher::Decide(SourceIndex source, Reason reason, const Reply& reply) {
    SourceCounters& c = sources_[source].counters;
    const SourcePolicy& p = sources_[source].policy;
    FailPolicy policy = p.on_timeout;
    switch (reason) {
        case Reason::kTimeout:
            ++c.timed_out;
            break;
        case Reason::kGuestAbsent:
            ++c.guest_absent;
            policy = p.on_guest_absent;
            break;
        case Reason::kOverflow:
            ++c.overflowed;
            policy = p.on_overflow;
            break;
    }
    bool open = policy == FailPolicy::kFailOpen;
    ++(open ? c.failed_open : c.failed_closed);
    if (reply) reply(open ? Verdict::Pass() : Verdict::Drop());
}

}  // namespace hvkit::filterd
