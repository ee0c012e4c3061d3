// A network source: the packets hvfilterd's nft rules send to one NFQUEUE,
// each handed to the dispatcher as an item and answered by an NFQUEUE
// verdict (docs/filters.md, "Network source"). Single-threaded and
// non-blocking: the event loop polls fd() and calls OnReadable and Flush.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <vector>

#include "hvkit/filterd/config.h"
#include "hvkit/filterd/dispatcher.h"
#include "hvkit/filterd/item.h"
#include "hvkit/status.h"

struct mnl_socket;
struct nlmsghdr;

namespace hvkit::filterd {

// What the source saw besides the dispatcher's counters.
struct NfqueueStats {
    uint64_t packets = 0;           // packets read from the queue
    uint64_t overruns = 0;          // ENOBUFS: the kernel dropped queue messages for us
    uint64_t verdict_messages = 0;  // verdict messages sent
    uint64_t batch_verdicts = 0;    // of which NFQA_VERDICT_BATCH
    uint64_t verdict_errors = 0;    // verdicts the kernel refused
    uint64_t changed_refused = 0;   // CHANGED answers sent as NF_DROP (truncated or malformed)
    uint64_t changed_header_refused = 0;  // CHANGED answers that rewrote a header: by policy
};

class NfqueueSource {
  public:
    // Binds NFQUEUE (config.network.queue) for source (index) of (dispatcher)
    // copying each packet up to (config.max_item_bytes), with a kernel queue
    // of (config.policy.max_pending) packets that, when full, accepts
    // (on_overflow fail-open) or drops new packets. (dispatcher) must outlive
    // the source. Fails if the queue is bound by another process.
    static Result<std::unique_ptr<NfqueueSource>> Open(const SourceConfig& config,
                                                       SourceIndex index, Dispatcher& dispatcher);

    // Answers every packet still without a verdict by on_guest_absent, sends
    // the verdicts and closes the queue. Call Dispatcher::OnGuestGone (and
    // Flush) first so the dispatcher's books agree; replies that run after
    // the source is gone do nothing.
    ~NfqueueSource();

    NfqueueSource(const NfqueueSource&) = delete;
    NfqueueSource& operator=(const NfqueueSource&) = delete;

    // The netlink socket to poll for POLLIN; non-blocking.
    int fd() const;

    // Reads every message available now and submits each packet to the
    // dispatcher. An overrun (ENOBUFS) is counted, not an error.
    Status OnReadable();

    // Sends the verdicts of every packet the dispatcher has answered, in as
    // few messages as the batching rule (verdict_batch.h) allows.
    Status Flush();

    // Packets read and not yet given a verdict (answered or not).
    size_t held() const;

    const NfqueueStats& stats() const;

    // The books every reply writes to; shared so a reply outliving the
    // source is harmless.
    struct Books;

  private:
    NfqueueSource(mnl_socket* nl, uint16_t queue, SourceIndex index, FailPolicy on_absent,
                  Dispatcher& dispatcher);

    void HandlePacket(const ::nlmsghdr* nlh);

    mnl_socket* nl_;
    uint16_t queue_;
    SourceIndex index_;
    FailPolicy on_absent_;
    Dispatcher& dispatcher_;
    std::shared_ptr<Books> books_;
    std::vector<char> recv_buf_;
};

}  // namespace hvkit::filterd
