// The GuestLink over a VM's filter region (docs/filter-rings.md): requests
// go out on the request ring, verdicts come back on the verdict ring and go
// to the dispatcher. hvfilterd produces the requests, so it formats the
// region; the guest attaches after it. Single-threaded: the event loop
// calls everything. The guest is not trusted: anything wrong in the region
// only breaks the link, and the dispatcher's policies answer from then on.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "hvkit/filter_ring.h"
#include "hvkit/filterd/config.h"
#include "hvkit/filterd/dispatcher.h"
#include "hvkit/filterd/guest_link.h"
#include "hvkit/fs.h"
#include "hvkit/json.h"
#include "hvkit/status.h"

namespace hvkit::filterd {

// What the link puts in each request of a source (chain is the source index).
struct RingSource {
    filter_ring::ItemSource kind = filter_ring::ItemSource::kNetwork;
    uint32_t budget_us = 0;   // the source's deadline
    bool may_change = false;  // a network source can apply CHANGED
};

// The sources of (config) as the link sees them, in order.
std::vector<RingSource> RingSourcesOf(const FilterConfig& config);

// The chain table (filter_chain_table.h) announcing (config)'s module chains
// to the guest: chain i is source i's.
std::string ChainTableOf(const FilterConfig& config);

// The fds hvmm hands over for one filter region (vm_attach.h).
struct RegionFds {
    UniqueFd region;     // memfd holding the region
    UniqueFd doorbell;   // eventfd: the guest kicks the host (verdicts)
    UniqueFd interrupt;  // eventfd: the host kicks the guest (requests)
    uint64_t region_size = 0;
    // The control-socket connection the fds came over, kept open: hvmm
    // closes it only by exiting, so its end says the VM is gone. May be
    // invalid (tests that attach without one).
    UniqueFd control;
};

// The link's own counters, beside the dispatcher's.
struct RingLinkStats {
    uint64_t attaches = 0;    // regions formatted and used
    uint64_t detaches = 0;    // regions given up (broken ring, or replaced)
    uint64_t requests = 0;    // requests published
    uint64_t kicks = 0;       // interrupt eventfd writes for requests (not the one per attach)
    uint64_t verdicts = 0;    // verdicts taken off the ring
    uint64_t ring_full = 0;   // Send answered kFull: ring or data area full
    uint64_t too_large = 0;   // items over half the data area: kFull too
    uint64_t violations = 0;  // rule breaks that broke the link
};

class RingGuestLink final : public GuestLink {
  public:
    // (chain_table) goes into every region the link formats.
    explicit RingGuestLink(std::vector<RingSource> sources, std::string chain_table = "");
    ~RingGuestLink() override;
    RingGuestLink(const RingGuestLink&) = delete;
    RingGuestLink& operator=(const RingGuestLink&) = delete;

    // Maps (fds.region), formats a region in it (sized to fit
    // fds.region_size, with the chain table) and starts using it, replacing
    // any earlier one; then kicks the guest, which attaches to the new format.
    // Errors name the memfd and the rule (too small, larger than the memfd).
    Status Attach(RegionFds fds);

    // Gives up the region: unmaps it and closes the fds. (why) is kept as
    // last_problem when non-empty. The caller answers what is pending
    // (Dispatcher::OnGuestGone).
    void Detach(const std::string& why);

    bool Attached() const override;

    // Publishes (item) as a request and kicks the guest when it armed its
    // doorbell. No room: kFull. A broken ring: kAbsent, and the link
    // detaches.
    SendOutcome Send(const Item& item) override;

    // The eventfd the guest kicks when it publishes verdicts; -1 when
    // detached. Poll it for POLLIN.
    int doorbell_fd() const;

    // The control connection (RegionFds::control); -1 when detached or
    // there is none. Poll it for POLLIN: hvmm never writes to it unasked.
    int control_fd() const;
    // Reads what made control_fd() readable: the end of the connection (hvmm
    // exited, the VM is gone) detaches the link; stray bytes are dropped.
    void OnControlReadable();

    // Clears the doorbell, then hands up to (max) verdicts to (dispatcher).
    // -> true when more may be waiting (call again before sleeping). A
    // broken ring or a verdict that breaks hvfilterd's rules (an id never
    // sent, CHANGED for an item that may not change) detaches the link and
    // returns false; the caller sees Attached() turn false.
    bool DeliverVerdicts(Dispatcher& dispatcher, size_t max = 1024);

    // Arms the host's doorbell before the loop sleeps. -> true: sleep;
    // false: verdicts arrived meanwhile, deliver them first. Detached: true.
    bool PrepareToSleep();

    const RingLinkStats& stats() const { return stats_; }
    const std::string& last_problem() const { return last_problem_; }
    // stats() with "attached" and "last_problem".
    Json StatsJson() const;

  private:
    struct Mapping;

    // Records a rule break (message) and detaches.
    void Break(const std::string& message);

    std::vector<RingSource> sources_;
    std::string chain_table_;
    std::unique_ptr<Mapping> mapping_;
    uint64_t max_sent_sequence_ = 0;  // the highest id sequence published
    RingLinkStats stats_;
    std::string last_problem_;
    std::vector<filter_ring::FilterVerdict> verdicts_;  // reused buffer
};

// Region parameters that fit in (region_size) bytes with (chain_table): the
// ring library's defaults, halved until they fit. kTooLarge when not even the
// smallest does.
Result<filter_ring::RegionParams> RegionParamsFor(uint64_t region_size,
                                                  const std::string& chain_table = "");

}  // namespace hvkit::filterd
