#include "ring_guest_link.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <span>
#include <utility>

#include "hvkit/filter_chain_table.h"
#include "hvkit/filter_region.h"

namespace hvkit::filterd {
namespace {

namespace ring = filter_ring;

constexpr uint64_t kSequenceMask = (uint64_t{1} << 48) - 1;
constexpr uint32_t kMinEntries = 16;
constexpr uint32_t kMinDataArea = 16 * 1024;

// Empties eventfd (fd) without blocking; it may already be empty.
void ClearEventfd(int fd) {
    uint64_t count;
    while (read(fd, &count, sizeof(count)) == sizeof(count)) {
    }
}

// Makes (fd) non-blocking, so the loop never waits on an eventfd.
Status SetNonBlocking(int fd, const char* what) {
    int flags = fcntl(fd, F_GETFL);
    if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) != 0) {
        return Error(ErrorCode::kIo,
                     std::string(what) + ": making it non-blocking: " + strerror(errno));
    }
    return Status::Ok();
}

void KickEventfd(int fd) {
    const uint64_t one = 1;
    // A full counter (2^64-2 unread kicks) still wakes the reader.
    [[maybe_unused]] ssize_t n = write(fd, &one, sizeof(one));
}

}  // namespace

// The mapped region, its fds and the two host views.
struct RingGuestLink::Mapping {
    RegionFds fds;
    void* base = MAP_FAILED;
    uint64_t size = 0;
    ring::FilterRegion region;
    ring::RequestProducer requests;
    ring::VerdictConsumer verdicts;

    Mapping(RegionFds f, void* b, uint64_t s, const ring::FilterRegion& r)
        : fds(std::move(f)), base(b), size(s), region(r), requests(r), verdicts(r) {}
    ~Mapping() { munmap(base, size); }
};

std::vector<RingSource> RingSourcesOf(const FilterConfig& config) {
    std::vector<RingSource> out;
    for (const SourceConfig& source : config.sources) {
        RingSource r;
        bool network = source.kind == SourceKind::kNetwork;
        r.kind = network ? ring::ItemSource::kNetwork : ring::ItemSource::kFile;
        r.budget_us = static_cast<uint32_t>(source.policy.deadline.count() * 1000);
        r.may_change = network;
        out.push_back(r);
    }
    return out;
}

std::string ChainTableOf(const FilterConfig& config) {
    std::vector<ring::ChainSpec> chains;
    for (const SourceConfig& source : config.sources) {
        ring::ChainSpec chain;
        chain.source = source.name;
        chain.kind = source.kind == SourceKind::kNetwork ? ring::ItemSource::kNetwork
                                                         : ring::ItemSource::kFile;
        for (const ModuleStep& step : source.chain) {
            chain.modules.push_back(ring::ChainModule{step.module, step.params});
        }
        chains.push_back(std::move(chain));
    }
    return ring::EncodeChainTable(chains);
}

Result<ring::RegionParams> RegionParamsFor(uint64_t region_size, const std::string& chain_table) {
    ring::RegionParams params;
    params.chain_table = chain_table;
    for (;;) {
        Result<uint64_t> need = ring::RequiredSize(params);
        if (!need.ok()) return need.status();
        if (*need <= region_size) return params;
        if (params.request_data_size > kMinDataArea) {
            params.request_data_size /= 2;
            params.verdict_data_size /= 2;
        } else if (params.request_entries > kMinEntries) {
            params.request_entries /= 2;
            params.verdict_entries /= 2;
        } else {
            return Error(ErrorCode::kTooLarge,
                         "filter region of " + std::to_string(region_size) +
                             " bytes: too small for the smallest ring layout (" +
                             std::to_string(*need) + " bytes)");
        }
    }
}

RingGuestLink::RingGuestLink(std::vector<RingSource> sources, std::string chain_table)
    : sources_(std::move(sources)), chain_table_(std::move(chain_table)) {}

RingGuestLink::~RingGuestLink() = default;

Status RingGuestLink::Attach(RegionFds fds) {
    Detach("");
    struct stat st {};
    if (fstat(fds.region.get(), &st) != 0) {
        return Error(ErrorCode::kIo, std::string("filter region memfd: fstat: ") + strerror(errno));
    }
    if (fds.region_size == 0 || static_cast<uint64_t>(st.st_size) < fds.region_size) {
        return Error(ErrorCode::kRefused,
                     "filter region memfd: hvmm said " + std::to_string(fds.region_size) +
                         " bytes but the memfd holds " + std::to_string(st.st_size) +
                         "; the region must be non-empty and inside the memfd");
    }
    HVKIT_RETURN_IF_ERROR(SetNonBlocking(fds.doorbell.get(), "filter doorbell eventfd"));
    HVKIT_RETURN_IF_ERROR(SetNonBlocking(fds.interrupt.get(), "filter interrupt eventfd"));
    HVKIT_ASSIGN_OR_RETURN(ring::RegionParams params,
                           RegionParamsFor(fds.region_size, chain_table_));
    void* base =
        mmap(nullptr, fds.region_size, PROT_READ | PROT_WRITE, MAP_SHARED, fds.region.get(), 0);
    if (base == MAP_FAILED) {
        return Error(ErrorCode::kIo, std::string("filter region memfd: mmap: ") + strerror(errno));
    }
    std::span<uint8_t> memory(static_cast<uint8_t*>(base), fds.region_size);
    Result<ring::FilterRegion> region = ring::Format(memory, params);
    if (!region.ok()) {
        munmap(base, fds.region_size);
        return region.status().WithContext("formatting the filter region");
    }
    uint64_t size = fds.region_size;
    mapping_ = std::make_unique<Mapping>(std::move(fds), base, size, *region);
    max_sent_sequence_ = 0;
    ++stats_.attaches;
    // A guest asleep on the old format wakes, finds the new one, attaches.
    KickEventfd(mapping_->fds.interrupt.get());
    return Status::Ok();
}

void RingGuestLink::Detach(const std::string& why) {
    if (!why.empty()) last_problem_ = why;
    if (!mapping_) return;
    mapping_.reset();
    ++stats_.detaches;
}

bool RingGuestLink::Attached() const {
    return mapping_ != nullptr;
}

int RingGuestLink::doorbell_fd() const {
    return mapping_ ? mapping_->fds.doorbell.get() : -1;
}

int RingGuestLink::control_fd() const {
    return mapping_ ? mapping_->fds.control.get() : -1;
}

void RingGuestLink::OnControlReadable() {
    if (!mapping_ || !mapping_->fds.control.valid()) return;
    char stray[256];
    ssize_t n = recv(mapping_->fds.control.get(), stray, sizeof stray, MSG_DONTWAIT);
    if (n > 0 || (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))) return;
    Detach("hvmm closed the control connection (hvmm exited; the VM is gone)");
}

void RingGuestLink::Break(const std::string& message) {
    ++stats_.violations;
    Detach("guest link broken: " + message);
}

SendOutcome RingGuestLink::Send(const Item& item) {
    if (!mapping_) return SendOutcome::kAbsent;
    if (item.source >= sources_.size()) return SendOutcome::kAbsent;
    const RingSource& source = sources_[item.source];
    ring::FilterRequest request;
    request.item_id = item.id;
    request.source = source.kind;
    request.chain = item.source;
    request.flags = source.may_change ? HVFILTER_REQUEST_F_MAY_CHANGE : 0;
    request.budget_us = source.budget_us;
    request.bytes = item.payload;
    Status staged = mapping_->requests.Stage(request);
    if (staged.code() == ErrorCode::kTooLarge) {
        ++stats_.ring_full;
        return SendOutcome::kFull;
    }
    if (staged.code() == ErrorCode::kInvalidArgument) {
        ++stats_.too_large;
        last_problem_ = staged.message();
        return SendOutcome::kFull;
    }
    if (!staged.ok()) {
        Break(staged.message());
        return SendOutcome::kAbsent;
    }
    Result<bool> kick = mapping_->requests.Publish();
    if (!kick.ok()) {
        Break(kick.status().message());
        return SendOutcome::kAbsent;
    }
    ++stats_.requests;
    max_sent_sequence_ = std::max(max_sent_sequence_, item.id & kSequenceMask);
    if (*kick) {
        KickEventfd(mapping_->fds.interrupt.get());
        ++stats_.kicks;
    }
    return SendOutcome::kSent;
}

bool RingGuestLink::DeliverVerdicts(Dispatcher& dispatcher, size_t max) {
    if (!mapping_) return false;
    ClearEventfd(mapping_->fds.doorbell.get());
    if (ring::ResetRequested(mapping_->region)) {
        Detach("the guest asked for a fresh filter region (its runtime restarted)");
        return false;
    }
    verdicts_.clear();
    Result<size_t> got = mapping_->verdicts.Receive(verdicts_, max);
    if (!got.ok()) {
        Break(got.status().message());
        return false;
    }
    // Every verdict is checked before any is delivered: a batch that breaks
    // a rule answers nothing, like a refusal of the ring itself.
    for (const ring::FilterVerdict& v : verdicts_) {
        SourceIndex source = SourceOf(v.item_id);
        uint64_t sequence = v.item_id & kSequenceMask;
        if (source >= sources_.size() || sequence == 0 || sequence > max_sent_sequence_) {
            Break("verdict for item " + std::to_string(v.item_id) +
                  ", which was never sent to the guest");
            return false;
        }
        if (v.verdict == ring::Verdict::kChanged && !sources_[source].may_change) {
            Break("CHANGED verdict for item " + std::to_string(v.item_id) +
                  ", whose request did not allow changes (no MAY_CHANGE)");
            return false;
        }
    }
    for (ring::FilterVerdict& v : verdicts_) {
        ++stats_.verdicts;
        switch (v.verdict) {
            case ring::Verdict::kPass:
                dispatcher.OnVerdict(v.item_id, Verdict::Pass());
                break;
            case ring::Verdict::kDrop:
                dispatcher.OnVerdict(v.item_id, Verdict::Drop());
                break;
            case ring::Verdict::kChanged:
                dispatcher.OnVerdict(v.item_id, Verdict::Changed(std::move(v.changed_bytes)));
                break;
        }
    }
    return *got == max;
}

bool RingGuestLink::PrepareToSleep() {
    if (!mapping_) return true;
    Result<bool> sleep = mapping_->verdicts.PrepareToSleep();
    if (!sleep.ok()) {
        Break(sleep.status().message());
        return true;
    }
    return *sleep;
}

Json RingGuestLink::StatsJson() const {
    Json out = Json::MakeObject();
    out["attached"] = Attached();
    out["attaches"] = stats_.attaches;
    out["detaches"] = stats_.detaches;
    out["requests"] = stats_.requests;
    out["kicks"] = stats_.kicks;
    out["verdicts"] = stats_.verdicts;
    out["ring_full"] = stats_.ring_full;
    out["too_large"] = stats_.too_large;
    out["violations"] = stats_.violations;
    out["last_problem"] = last_problem_;
    return out;
}

}  // namespace hvkit::filterd
