// Verdict batching rule (verdict_batch.h).
#include "hvkit/filterd/verdict_batch.h"

namespace hvkit::filterd {

namespace {

bool Joins(const HeldPacket& run_start, const HeldPacket& next) {
    return next.answered && !next.has_bytes && !run_start.has_bytes &&
           next.verdict == run_start.verdict;
}

}  // namespace

std::vector<VerdictMessage> PlanVerdicts(std::span<const HeldPacket> held) {
    std::vector<VerdictMessage> out;
    size_t i = 0;
    // While everything older is answered, a run starting here is the head of
    // the kernel's queue (earlier messages of this plan remove the packets
    // before it), so a batch on its last id covers exactly the run.
    while (i < held.size() && held[i].answered) {
        size_t last = i;
        while (last + 1 < held.size() && Joins(held[i], held[last + 1])) ++last;
        out.push_back(VerdictMessage{i, last, last > i});
        i = last + 1;
    }
    // Past an unanswered packet a batch would answer it too: one by one.
    for (; i < held.size(); ++i) {
        if (held[i].answered) out.push_back(VerdictMessage{i, i, false});
    }
    return out;
}

}  // namespace hvkit::filterd
