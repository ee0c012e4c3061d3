// The messages between the runtime and its chain worker, one per
// SOCK_SEQPACKET datagram (so a message is never split or merged):
//
//   worker -> runtime, once:  the hello: "ready", or "error: <why>"
//   runtime -> worker:        WorkItemHeader + the item's bytes
//   worker -> runtime:        WorkVerdictHeader + changed bytes (kChanged)
//                             or the chain's error text (kUndecided)
//
// Both ends are the same binary, so the headers are plain structs.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "hvkit/filter_ring.h"
#include "hvkit/status.h"

namespace hvkit::filter_runtime {

struct WorkItemHeader {
    uint64_t item_id;
    uint16_t chain;
    uint16_t source;  // hvfilter_source
    uint32_t length;
};

// The worker's verdict codes: the ring's, and one it never publishes.
enum class WorkOutcome : uint16_t {
    kPass = HVFILTER_VERDICT_PASS,
    kDrop = HVFILTER_VERDICT_DROP,
    kChanged = HVFILTER_VERDICT_CHANGED,
    kUndecided = 0xffff,  // the chain failed: no verdict, the host's policy decides
};

struct WorkVerdictHeader {
    uint64_t item_id;
    uint16_t outcome;  // WorkOutcome
    uint16_t module;   // the deciding module's position, or HVFILTER_MODULE_NONE
    uint32_t length;
};

// What the worker answered for one item.
struct WorkReply {
    uint64_t item_id = 0;
    WorkOutcome outcome = WorkOutcome::kUndecided;
    uint16_t module = HVFILTER_MODULE_NONE;
    std::vector<uint8_t> bytes;  // changed bytes, or the error text
};

// The largest datagram either side sends: an item or a change of at most
// (max_item_bytes) plus its header.
inline size_t MaxMessageBytes(size_t max_item_bytes) {
    return max_item_bytes + sizeof(WorkVerdictHeader);
}

// Sends (header) and (bytes) as one datagram on (fd). kTooLarge when the
// socket is full (non-blocking); kIo otherwise.
Status SendMessage(int fd, const void* header, size_t header_size, const uint8_t* bytes,
                   size_t length);

}  // namespace hvkit::filter_runtime
