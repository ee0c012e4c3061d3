// The messages between the runtime and its chain worker, one per
// SOCK_SEQPACKET datagram (so a message is never split or merged):
//
//   worker -> runtime, once:  the hello: "ready", or "error: <why>"
//   runtime -> worker:        a batch: uint32_t count, then per item
//                             WorkItemHeader + the item's bytes
//   worker -> runtime:        the batch's answers, in order: uint32_t count,
//                             then per item WorkVerdictHeader + changed
//                             bytes (kChanged) or the chain's error text
//                             (kUndecided)
//
// Batches keep the system calls and context switches per item low: in a
// nested guest each switch between the two processes is dear.
//
// Both ends are the same binary, so the headers are plain structs.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <span>
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

// A batch holds at most this many items, and more than kMaxBatchBytes of
// item bytes only when its single item is that large.
constexpr size_t kMaxBatchItems = 64;
constexpr size_t kMaxBatchBytes = 1 << 20;

// The largest datagram either side sends: a batch, or one item or change of
// at most (max_item_bytes) with its headers.
inline size_t MaxMessageBytes(size_t max_item_bytes) {
    return sizeof(uint32_t) + std::max(max_item_bytes, kMaxBatchBytes) +
           kMaxBatchItems * sizeof(WorkVerdictHeader);
}

// A datagram being built: the count, then records.
class MessageBuilder {
  public:
    MessageBuilder() { bytes_.resize(sizeof(uint32_t)); }
    void Add(const void* header, size_t header_size, const uint8_t* data, size_t length);
    uint32_t count() const { return count_; }
    size_t size() const { return bytes_.size(); }
    // The datagram, its count filled in.
    const std::vector<uint8_t>& Finish();

  private:
    std::vector<uint8_t> bytes_;
    uint32_t count_ = 0;
};

// Sends (message) as one datagram on (fd) without blocking. kTooLarge when
// the socket is full; kIo otherwise.
Status SendMessage(int fd, const std::vector<uint8_t>& message);

// Walks a received datagram's records: (header_size) bytes of header whose
// last uint32_t field is the record's byte length, then the bytes. kMalformed
// when the count or a length does not fit the datagram.
template <typename Header, typename Visit>
Status ForEachRecord(std::span<const uint8_t> message, Visit visit) {
    if (message.size() < sizeof(uint32_t)) {
        return Error(ErrorCode::kMalformed, "chain worker message: shorter than its count");
    }
    uint32_t count;
    std::memcpy(&count, message.data(), sizeof count);
    size_t at = sizeof count;
    for (uint32_t i = 0; i < count; ++i) {
        Header header;
        if (message.size() - at < sizeof header) {
            return Error(ErrorCode::kMalformed,
                         "chain worker message: record " + std::to_string(i) + " is cut short");
        }
        std::memcpy(&header, message.data() + at, sizeof header);
        at += sizeof header;
        if (message.size() - at < header.length) {
            return Error(ErrorCode::kMalformed, "chain worker message: record " +
                                                    std::to_string(i) + "'s bytes are cut short");
        }
        visit(header, message.subspan(at, header.length));
        at += header.length;
    }
    if (at != message.size()) {
        return Error(ErrorCode::kMalformed, "chain worker message: bytes after its records");
    }
    return Status::Ok();
}

}  // namespace hvkit::filter_runtime
