// One intercepted unit of host I/O on its way through the guest: a packet
// from an NFQUEUE or a file access from fanotify, and the answer it awaits.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

namespace hvkit::filterd {

// Dispatcher-assigned; the source index sits in the top 16 bits (dispatcher.h).
using ItemId = uint64_t;
// Index of a source in the configuration's order.
using SourceIndex = uint16_t;

enum class VerdictKind { kPass, kDrop, kChanged };

// The answer for one item. (bytes) is the replacement data of kChanged and
// empty otherwise. A source that cannot change data (fanotify) treats
// kChanged as a refusal of the original: FAN_DENY.
struct Verdict {
    VerdictKind kind = VerdictKind::kPass;
    std::vector<uint8_t> bytes;

    static Verdict Pass() { return {VerdictKind::kPass, {}}; }
    static Verdict Drop() { return {VerdictKind::kDrop, {}}; }
    static Verdict Changed(std::vector<uint8_t> bytes) {
        return {VerdictKind::kChanged, std::move(bytes)};
    }
};

const char* VerdictKindName(VerdictKind kind);

// Delivers the verdict to the source (NFQUEUE verdict, fanotify response).
// The dispatcher calls it exactly once per submitted item.
using Reply = std::function<void(const Verdict&)>;

struct Item {
    ItemId id = 0;                 // set by Dispatcher::Submit
    SourceIndex source = 0;        // set by Dispatcher::Submit
    std::vector<uint8_t> payload;  // what the guest's modules inspect
    Reply reply;
};

}  // namespace hvkit::filterd
