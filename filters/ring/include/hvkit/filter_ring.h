// Views over the two rings of a filter region (hvkit/filter_region.h):
//
//   host:  RequestProducer  --request ring + request data-->  RequestConsumer  :guest
//   host:  VerdictConsumer  <--verdict ring + verdict data--  VerdictProducer  :guest
//
// A producer stages items (entry and bytes written, not yet visible), then
// Publish makes the whole batch visible with one index store and says whether
// the consumer asked for a doorbell: the caller kicks (an eventfd) at most
// once per batch. A consumer copies items and their bytes out of shared
// memory, validating every field once, then releases their entries and bytes
// with one index store. Before sleeping it calls PrepareToSleep.
//
// Errors, by code:
//   kTooLarge        no room now (ring or data area full): publish, wait for
//                    the consumer, or apply the overflow policy; the ring is fine.
//   kInvalidArgument the caller's item can never be sent (unknown source or
//                    verdict, bytes over half the data area); the ring is fine.
//   kRefused         the peer broke a rule of the ring (message: ring, entry,
//                    field, rule). The view is broken from then on and every
//                    call returns the same error: apply the fail-open/closed
//                    policy and tear the region down.
//
// An item's bytes take at most half of their data area (so an item always
// fits once the area is empty, whatever the padding at the wrap costs).
//
// A view is used by one thread and must not outlive the mapping. Views
// assume the region is fresh: each starts at its ring's start_index with the
// data area empty. A moved-from view may only be destroyed or assigned to.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "hvkit/filter_region.h"
#include "hvkit/status.h"

namespace hvkit::filter_ring {

enum class ItemSource : uint16_t {
    kNetwork = HVFILTER_SOURCE_NETWORK,
    kFile = HVFILTER_SOURCE_FILE,
};

enum class Verdict : uint16_t {
    kPass = HVFILTER_VERDICT_PASS,
    kDrop = HVFILTER_VERDICT_DROP,
    kChanged = HVFILTER_VERDICT_CHANGED,
};

// An item on its way to the guest's chain, in private memory.
struct FilterRequest {
    uint64_t item_id = 0;
    ItemSource source = ItemSource::kNetwork;
    uint16_t chain = 0;
    uint32_t flags = 0;      // HVFILTER_REQUEST_F_*
    uint32_t budget_us = 0;  // relative: host and guest clocks differ
    std::vector<uint8_t> bytes;
};

// The chain's answer for one item, in private memory. changed_bytes only for
// kChanged.
struct FilterVerdict {
    uint64_t item_id = 0;
    Verdict verdict = Verdict::kPass;
    uint16_t module = HVFILTER_MODULE_NONE;
    std::vector<uint8_t> changed_bytes;
};

class ChannelProducer;
class ChannelConsumer;

// The host's end of the request ring.
class RequestProducer {
  public:
    explicit RequestProducer(const FilterRegion& region);
    ~RequestProducer();
    RequestProducer(RequestProducer&&) noexcept;
    RequestProducer& operator=(RequestProducer&&) noexcept;

    // Writes (request) and its bytes into the next free entry and data space,
    // unpublished. Errors as above; nothing is staged on error.
    Status Stage(const FilterRequest& request);
    // Makes every staged request visible with one index store. -> true when
    // the guest armed its doorbell for this batch: kick it once.
    Result<bool> Publish();

  private:
    std::unique_ptr<ChannelProducer> channel_;
};

// The guest's end of the request ring.
class RequestConsumer {
  public:
    explicit RequestConsumer(const FilterRegion& region);
    ~RequestConsumer();
    RequestConsumer(RequestConsumer&&) noexcept;
    RequestConsumer& operator=(RequestConsumer&&) noexcept;

    // Appends up to (max) published requests to (out), copied and validated,
    // then releases their entries and bytes with one index store. -> how many
    // (0: none published). On error (out) is left as it was.
    Result<size_t> Receive(std::vector<FilterRequest>& out, size_t max);
    // Arms the doorbell, then looks again. -> true: the ring is empty, sleep
    // until kicked; false: requests arrived meanwhile, Receive them.
    Result<bool> PrepareToSleep();

  private:
    std::unique_ptr<ChannelConsumer> channel_;
};

// The guest's end of the verdict ring.
class VerdictProducer {
  public:
    explicit VerdictProducer(const FilterRegion& region);
    ~VerdictProducer();
    VerdictProducer(VerdictProducer&&) noexcept;
    VerdictProducer& operator=(VerdictProducer&&) noexcept;

    // Writes (verdict) and, for kChanged, its bytes, unpublished. Errors as
    // above; kInvalidArgument also for bytes on a PASS or DROP verdict.
    Status Stage(const FilterVerdict& verdict);
    // As RequestProducer::Publish.
    Result<bool> Publish();

  private:
    std::unique_ptr<ChannelProducer> channel_;
};

// The host's end of the verdict ring. It checks the ring's rules, not which
// items are outstanding: the caller matches item ids to its own table and
// treats an unknown or repeated id as a violation too.
class VerdictConsumer {
  public:
    explicit VerdictConsumer(const FilterRegion& region);
    ~VerdictConsumer();
    VerdictConsumer(VerdictConsumer&&) noexcept;
    VerdictConsumer& operator=(VerdictConsumer&&) noexcept;

    // As RequestConsumer::Receive.
    Result<size_t> Receive(std::vector<FilterVerdict>& out, size_t max);
    // As RequestConsumer::PrepareToSleep.
    Result<bool> PrepareToSleep();

  private:
    std::unique_ptr<ChannelConsumer> channel_;
};

}  // namespace hvkit::filter_ring
