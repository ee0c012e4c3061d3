// RingGuestLink over a real memfd and eventfds, with a "guest" thread that
// uses the ring library directly: verdicts reach the dispatcher, the
// request carries the source's chain, budget and MAY_CHANGE, a full ring is
// an overflow, and anything a hostile guest does only breaks the link, after
// which every item goes by policy.
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "hvkit/filter_region.h"
#include "hvkit/filter_ring.h"
#include "hvkit/filterd/dispatcher.h"
#include "ring_guest_link.h"
#include "ring_test_guest.h"

namespace hvkit::filterd {
namespace {

namespace ring = filter_ring;
using testing::RingTestGuest;

constexpr uint64_t kRegionSize = 0x86000;  // the ring library's default layout

// A region memfd and its eventfds, and the guest's copies of them.
struct Region {
    RegionFds fds;
    UniqueFd guest_region, guest_doorbell, guest_interrupt;

    explicit Region(uint64_t size) {
        fds.region = UniqueFd(memfd_create("test-region", MFD_CLOEXEC));
        fds.doorbell = UniqueFd(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
        fds.interrupt = UniqueFd(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
        fds.region_size = size;
        EXPECT_EQ(ftruncate(fds.region.get(), static_cast<off_t>(size)), 0);
        guest_region = UniqueFd(dup(fds.region.get()));
        guest_doorbell = UniqueFd(dup(fds.doorbell.get()));
        guest_interrupt = UniqueFd(dup(fds.interrupt.get()));
    }
};

SourcePolicy Policy(const std::string& name, FailPolicy absent = FailPolicy::kFailClosed) {
    SourcePolicy p;
    p.name = name;
    p.deadline = std::chrono::seconds(30);
    p.on_timeout = FailPolicy::kFailClosed;
    p.on_guest_absent = absent;
    p.on_overflow = FailPolicy::kFailOpen;
    p.max_pending = 100000;
    return p;
}

// "drop" -> DROP, "change" -> CHANGED "changed!", else PASS.
std::optional<ring::FilterVerdict> ByPayload(const ring::FilterRequest& request) {
    std::string text(request.bytes.begin(), request.bytes.end());
    ring::FilterVerdict v;
    v.item_id = request.item_id;
    if (text == "drop") v.verdict = ring::Verdict::kDrop;
    if (text == "change") {
        v.verdict = ring::Verdict::kChanged;
        std::string changed = "changed!";
        v.changed_bytes.assign(changed.begin(), changed.end());
    }
    return v;
}

class RingLinkTest : public ::testing::Test {
  protected:
    // A network source "net" (0) that may change items and a file source
    // "files" (1) that may not.
    void SetUp() override {
        link_ = std::make_unique<RingGuestLink>(std::vector<RingSource>{
            {ring::ItemSource::kNetwork, 30000000, true},
            {ring::ItemSource::kFile, 200000, false},
        });
        dispatcher_ = std::make_unique<Dispatcher>(
            std::vector<SourcePolicy>{Policy("net"), Policy("files", FailPolicy::kFailOpen)},
            clock_, *link_);
    }

    // Submits (text) from (source); its answer lands in answers_[id].
    ItemId Submit(SourceIndex source, const std::string& text) {
        Item item;
        item.payload.assign(text.begin(), text.end());
        auto slot = std::make_shared<ItemId>(0);
        item.reply = [this, slot](const Verdict& v) { answers_[*slot] = v; };
        ItemId id = dispatcher_->Submit(source, std::move(item));
        *slot = id;
        // An item answered at once (by policy) was answered under id 0.
        auto early = answers_.find(0);
        if (early != answers_.end()) {
            answers_[id] = early->second;
            answers_.erase(early);
        }
        return id;
    }

    // The event loop's verdict half, until (count) answers or 10 s.
    bool DeliverUntil(size_t count) {
        auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
        while (answers_.size() < count && std::chrono::steady_clock::now() < until) {
            bool more = link_->DeliverVerdicts(*dispatcher_);
            if (!link_->Attached()) {
                dispatcher_->OnGuestGone();
                continue;
            }
            if (more || answers_.size() >= count || !link_->PrepareToSleep()) continue;
            pollfd p{link_->doorbell_fd(), POLLIN, 0};
            poll(&p, 1, 20);
        }
        return answers_.size() >= count;
    }

    const Clock& clock_ = RealClock();
    std::unique_ptr<RingGuestLink> link_;
    std::unique_ptr<Dispatcher> dispatcher_;
    std::map<ItemId, Verdict> answers_;
};

TEST_F(RingLinkTest, VerdictsOfAGuestReachTheDispatcher) {
    Region region(kRegionSize);
    RingTestGuest guest(region.guest_region.get(), kRegionSize, region.guest_doorbell.get(),
                        region.guest_interrupt.get(), ByPayload);
    ASSERT_TRUE(link_->Attach(std::move(region.fds)).ok());
    ASSERT_TRUE(link_->Attached());
    ASSERT_TRUE(guest.WaitAttached());
    ItemId pass = Submit(0, "hello");
    ItemId drop = Submit(0, "drop");
    ItemId change = Submit(0, "change");
    ItemId file = Submit(1, "file content");
    ASSERT_TRUE(DeliverUntil(4)) << guest.error();
    EXPECT_EQ(answers_[pass].kind, VerdictKind::kPass);
    EXPECT_EQ(answers_[drop].kind, VerdictKind::kDrop);
    ASSERT_EQ(answers_[change].kind, VerdictKind::kChanged);
    EXPECT_EQ(std::string(answers_[change].bytes.begin(), answers_[change].bytes.end()),
              "changed!");
    EXPECT_EQ(answers_[file].kind, VerdictKind::kPass);
    EXPECT_EQ(dispatcher_->counters(0).passed, 1u);
    EXPECT_EQ(dispatcher_->counters(0).dropped, 1u);
    EXPECT_EQ(dispatcher_->counters(0).changed, 1u);
    EXPECT_EQ(link_->stats().requests, 4u);
    EXPECT_EQ(link_->stats().verdicts, 4u);
    EXPECT_LE(link_->stats().kicks, link_->stats().requests);

    std::vector<ring::FilterRequest> seen = guest.seen();
    ASSERT_EQ(seen.size(), 4u);
    EXPECT_EQ(seen[0].item_id, pass);
    EXPECT_EQ(seen[0].source, ring::ItemSource::kNetwork);
    EXPECT_EQ(seen[0].chain, 0);
    EXPECT_EQ(seen[0].flags, uint32_t{HVFILTER_REQUEST_F_MAY_CHANGE});
    EXPECT_EQ(seen[0].budget_us, 30000000u);
    EXPECT_EQ(std::string(seen[0].bytes.begin(), seen[0].bytes.end()), "hello");
    EXPECT_EQ(seen[3].source, ring::ItemSource::kFile);
    EXPECT_EQ(seen[3].chain, 1);
    EXPECT_EQ(seen[3].flags, 0u);
    EXPECT_EQ(seen[3].budget_us, 200000u);
}

TEST_F(RingLinkTest, ManyItemsThroughSmallRingsAllAnswered) {
    Result<uint64_t> small = ring::RequiredSize({16, 16, 16384, 16384, 0, "", 0});
    ASSERT_TRUE(small.ok());
    Region region(*small);
    RingTestGuest guest(region.guest_region.get(), *small, region.guest_doorbell.get(),
                        region.guest_interrupt.get(), ByPayload);
    ASSERT_TRUE(link_->Attach(std::move(region.fds)).ok());
    ASSERT_TRUE(guest.WaitAttached());
    // Submit in waves a ring can hold, draining in between: every item is
    // answered by the guest, none by policy.
    size_t sent = 0;
    for (int wave = 0; wave < 50; ++wave) {
        for (int i = 0; i < 10; ++i, ++sent) Submit(0, i % 3 == 1 ? "drop" : "pass me");
        ASSERT_TRUE(DeliverUntil(sent)) << guest.error();
    }
    EXPECT_EQ(dispatcher_->counters(0).overflowed, 0u);
    EXPECT_EQ(dispatcher_->counters(0).passed + dispatcher_->counters(0).dropped, sent);
}

TEST_F(RingLinkTest, FullRingIsAnOverflow) {
    Result<uint64_t> small = ring::RequiredSize({16, 16, 16384, 16384, 0, "", 0});
    ASSERT_TRUE(small.ok());
    Result<ring::RegionParams> params = RegionParamsFor(*small);
    ASSERT_TRUE(params.ok());
    const uint32_t entries = params->request_entries;
    Region region(*small);  // no guest: nothing is ever consumed
    ASSERT_TRUE(link_->Attach(std::move(region.fds)).ok());
    for (uint32_t i = 0; i < entries + 4; ++i) Submit(0, "x");
    EXPECT_EQ(dispatcher_->pending(0), entries);
    EXPECT_EQ(dispatcher_->counters(0).overflowed, 4u);
    EXPECT_EQ(dispatcher_->counters(0).failed_open, 4u) << "on_overflow is fail-open";
    EXPECT_EQ(link_->stats().ring_full, 4u);
    EXPECT_TRUE(link_->Attached()) << "a full ring is not a broken one";
}

TEST_F(RingLinkTest, RegionTooSmallOrLargerThanTheMemfdIsRefused) {
    Region tiny(4096);
    Status st = link_->Attach(std::move(tiny.fds));
    EXPECT_EQ(st.code(), ErrorCode::kTooLarge) << st.message();
    EXPECT_NE(st.message().find("too small"), std::string::npos) << st.message();

    Region lying(kRegionSize);
    lying.fds.region_size = kRegionSize * 2;
    st = link_->Attach(std::move(lying.fds));
    EXPECT_EQ(st.code(), ErrorCode::kRefused) << st.message();
    EXPECT_NE(st.message().find("inside the memfd"), std::string::npos) << st.message();
    EXPECT_FALSE(link_->Attached());
}

TEST_F(RingLinkTest, NoRegionMeansGuestAbsent) {
    ItemId id = Submit(0, "nobody");
    EXPECT_EQ(answers_[id].kind, VerdictKind::kDrop) << "net's on_guest_absent is fail-closed";
    EXPECT_EQ(dispatcher_->counters(0).guest_absent, 1u);
}

// The guest's side of a region, for tests that misbehave by hand.
struct HostileGuest {
    void* base = MAP_FAILED;
    uint64_t size = 0;
    ring::FilterRegion region;

    HostileGuest(int fd, uint64_t region_size) : size(region_size) {
        base = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        Result<ring::FilterRegion> r =
            ring::Attach(std::span<uint8_t>(static_cast<uint8_t*>(base), size));
        EXPECT_TRUE(r.ok()) << r.status().message();
        if (r.ok()) region = *r;
    }
    ~HostileGuest() { munmap(base, size); }
    uint8_t* at(uint64_t offset) { return static_cast<uint8_t*>(base) + offset; }
};

class HostileGuestTest : public RingLinkTest {
  protected:
    // Attaches, submits two items that stay pending, and maps the guest side.
    void Begin() {
        Region region(kRegionSize);
        guest_fd_ = std::move(region.guest_region);
        ASSERT_TRUE(link_->Attach(std::move(region.fds)).ok());
        first_ = Submit(0, "one");
        file_ = Submit(1, "two");
        ASSERT_EQ(dispatcher_->pending(), 2u);
        guest_ = std::make_unique<HostileGuest>(guest_fd_.get(), kRegionSize);
    }

    // One loop turn; then every pending item must be gone by on_guest_absent.
    void ExpectBrokenAndAnsweredByPolicy(const std::string& rule) {
        link_->DeliverVerdicts(*dispatcher_);
        EXPECT_FALSE(link_->Attached());
        EXPECT_NE(link_->last_problem().find(rule), std::string::npos) << link_->last_problem();
        EXPECT_EQ(link_->stats().violations, 1u);
        dispatcher_->OnGuestGone();
        EXPECT_EQ(dispatcher_->pending(), 0u);
        EXPECT_EQ(dispatcher_->counters(0).guest_absent, 1u);
        EXPECT_EQ(dispatcher_->counters(0).failed_closed, 1u);
        EXPECT_EQ(dispatcher_->counters(1).failed_open, 1u);
        ItemId later = Submit(0, "after");
        EXPECT_EQ(answers_[later].kind, VerdictKind::kDrop);
        EXPECT_EQ(dispatcher_->counters(0).guest_absent, 2u);
    }

    void Publish(const ring::FilterVerdict& v) {
        ring::VerdictProducer producer(guest_->region);
        ASSERT_TRUE(producer.Stage(v).ok());
        ASSERT_TRUE(producer.Publish().ok());
    }

    UniqueFd guest_fd_;
    ItemId first_ = 0;
    ItemId file_ = 0;
    std::unique_ptr<HostileGuest> guest_;
};

TEST_F(HostileGuestTest, ProducerIndexFarAheadBreaksTheLink) {
    ASSERT_NO_FATAL_FAILURE(Begin());
    uint32_t lie = 0x7fffffff;
    std::memcpy(guest_->at(guest_->region.verdict_ring.offset), &lie, sizeof(lie));
    ExpectBrokenAndAnsweredByPolicy("verdict ring");
}

TEST_F(HostileGuestTest, GarbageAcrossTheVerdictRingBreaksTheLink) {
    ASSERT_NO_FATAL_FAILURE(Begin());
    // One entry published, then everything in it scribbled.
    ring::FilterVerdict v;
    v.item_id = first_;
    Publish(v);
    uint64_t entries = guest_->region.verdict_ring.offset + 128;
    std::memset(guest_->at(entries), 0xa7, 24);
    ExpectBrokenAndAnsweredByPolicy("verdict ring");
}

TEST_F(HostileGuestTest, VerdictForAnItemNeverSentBreaksTheLink) {
    ASSERT_NO_FATAL_FAILURE(Begin());
    ring::FilterVerdict v;
    v.item_id = first_ + 1000;
    Publish(v);
    ExpectBrokenAndAnsweredByPolicy("never sent");
}

TEST_F(HostileGuestTest, ChangedForAFileItemBreaksTheLink) {
    ASSERT_NO_FATAL_FAILURE(Begin());
    ring::FilterVerdict v;
    v.item_id = file_;
    v.verdict = ring::Verdict::kChanged;
    v.changed_bytes = {1, 2, 3};
    Publish(v);
    ExpectBrokenAndAnsweredByPolicy("MAY_CHANGE");
}

TEST_F(HostileGuestTest, RepeatedVerdictIsLateNotAViolation) {
    ASSERT_NO_FATAL_FAILURE(Begin());
    ring::FilterVerdict v;
    v.item_id = first_;
    ring::VerdictProducer producer(guest_->region);
    ASSERT_TRUE(producer.Stage(v).ok());
    ASSERT_TRUE(producer.Stage(v).ok());
    ASSERT_TRUE(producer.Publish().ok());
    link_->DeliverVerdicts(*dispatcher_);
    EXPECT_TRUE(link_->Attached());
    EXPECT_EQ(dispatcher_->counters(0).passed, 1u);
    EXPECT_EQ(dispatcher_->counters(0).late_or_unknown, 1u);
}

}  // namespace
}  // namespace hvkit::filterd
