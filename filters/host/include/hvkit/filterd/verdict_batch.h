// Which NFQUEUE verdict messages answer the packets a source holds
// (docs/filters.md, "Verdict batching"). A batch verdict (NFQA_VERDICT_BATCH
// with id N) answers EVERY packet still in the kernel's queue whose id is at
// or before N, so it is used only for a run of packets that are all
// answered with the same plain verdict and that starts at the oldest packet
// the kernel still holds; everything else gets one verdict per packet.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace hvkit::filterd {

// One packet the source read and has not yet sent a verdict for, in the
// order the kernel queued it.
struct HeldPacket {
    bool answered = false;   // the dispatcher answered; the verdict is not sent
    uint32_t verdict = 0;    // NF_ACCEPT or NF_DROP, when answered
    bool has_bytes = false;  // a CHANGED verdict carrying new packet bytes
};

// One verdict message: packets [first, last] of the held list. (batch) is
// true for an NFQA_VERDICT_BATCH on the id of (last); else first == last.
struct VerdictMessage {
    size_t first = 0;
    size_t last = 0;
    bool batch = false;
};

// The messages that answer every answered packet of (held) (oldest first)
// and no other: batches for runs of two or more answered packets with the
// same verdict and no bytes while every older packet is answered too,
// single verdicts otherwise. Messages are in the order they must be sent.
std::vector<VerdictMessage> PlanVerdicts(std::span<const HeldPacket> held);

}  // namespace hvkit::filterd
