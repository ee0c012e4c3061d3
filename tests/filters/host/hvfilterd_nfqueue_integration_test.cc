// The network source against real netfilter: each test gets its own network
// namespace, installs hvfilterd's table with the rule "udp dport 9999",
// binds NFQUEUE 7 and sends datagrams over loopback. Assertions are on what
// arrives and on the dispatcher's counters, never on timing.
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "hvfilterd_nfqueue_netns.h"
#include "hvkit/filterd/nfqueue_source.h"
#include "hvkit/filterd/nft_table.h"

namespace hvkit::filterd {
namespace {

using testing::RuleGuest;
using testing::RunLoop;
using testing::UdpSocket;

constexpr uint16_t kPort = 9999;
constexpr uint16_t kQueue = 7;

SourceConfig WebSource(std::chrono::milliseconds deadline, FailPolicy on_timeout,
                       FailPolicy on_absent = FailPolicy::kFailClosed) {
    SourceConfig c;
    c.name = "web";
    c.kind = SourceKind::kNetwork;
    c.network = NetworkSection{kQueue, {"udp dport 9999"}, 32};
    c.policy.name = "web";
    c.policy.deadline = deadline;
    c.policy.on_timeout = on_timeout;
    c.policy.on_guest_absent = on_absent;
    c.policy.on_overflow = FailPolicy::kFailClosed;
    return c;
}

NftQueueRules RulesOf(const SourceConfig& c) {
    return NftQueueRules{c.network->queue, c.network->rules,
                         c.policy.on_guest_absent == FailPolicy::kFailOpen};
}

bool Contains(const std::vector<std::string>& v, const std::string& s) {
    return std::find(v.begin(), v.end(), s) != v.end();
}

class NfqueueIntegration : public ::testing::TestWithParam<int> {
  protected:
    void SetUp() override {
        std::string why = testing::NetfilterUnavailable();
        if (!why.empty()) GTEST_SKIP() << why;
        std::string err = testing::EnterFreshNetns();
        if (err.find("EPERM") != std::string::npos ||
            err.find("not permitted") != std::string::npos) {
            GTEST_SKIP() << err;
        }
        ASSERT_EQ(err, "");
        family_ = GetParam();
    }

    // Table, dispatcher and source for (config), with (guest) as the guest.
    void Start(const SourceConfig& config) {
        auto table = NftTable::Install({RulesOf(config)});
        ASSERT_TRUE(table.ok()) << table.status().message();
        table_ = std::move(table.value());
        dispatcher_ =
            std::make_unique<Dispatcher>(std::vector<SourcePolicy>{config.policy}, clock_, guest_);
        auto source = NfqueueSource::Open(config, 0, *dispatcher_);
        ASSERT_TRUE(source.ok()) << source.status().message();
        source_ = std::move(source.value());
        receiver_ = std::make_unique<UdpSocket>(family_, kPort);
        sender_ = std::make_unique<UdpSocket>(family_, 0);
        ASSERT_TRUE(receiver_->ok() && sender_->ok()) << strerror(errno);
    }

    bool Loop(const std::function<bool()>& done,
              std::chrono::milliseconds limit = std::chrono::seconds(10)) {
        return RunLoop(*source_, *dispatcher_, guest_, *receiver_, received_, done, limit);
    }

    const SourceCounters& counters() { return dispatcher_->counters(0); }

    int family_ = AF_INET;
    const Clock& clock_ = RealClock();
    RuleGuest guest_;
    std::unique_ptr<NftTable> table_;
    std::unique_ptr<Dispatcher> dispatcher_;
    std::unique_ptr<NfqueueSource> source_;
    std::unique_ptr<UdpSocket> receiver_;
    std::unique_ptr<UdpSocket> sender_;
    std::vector<std::string> received_;
};

TEST_P(NfqueueIntegration, GuestVerdictsPassDropAndChange) {
    long csum_errors = testing::UdpChecksumErrors();
    ASSERT_NO_FATAL_FAILURE(Start(WebSource(std::chrono::seconds(30), FailPolicy::kFailClosed)));
    ASSERT_EQ(sender_->SendTo(kPort, "hello guest"), 0);
    ASSERT_EQ(sender_->SendTo(kPort, "please drop-me"), 0);
    ASSERT_EQ(sender_->SendTo(kPort, "my secret value"), 0);
    ASSERT_TRUE(Loop([&] { return received_.size() >= 2 && source_->held() == 0; }))
        << "received " << received_.size() << ", held " << source_->held();
    EXPECT_EQ(received_.size(), 2u);
    EXPECT_TRUE(Contains(received_, "hello guest")) << "a passed packet arrives intact";
    EXPECT_TRUE(Contains(received_, "my XXXXXX value")) << "a changed packet arrives changed";
    EXPECT_FALSE(Contains(received_, "please drop-me"));
    EXPECT_FALSE(Contains(received_, "my secret value"));
    EXPECT_EQ(counters().submitted, 3u) << "each packet inspected once, on output";
    EXPECT_EQ(counters().passed, 1u);
    EXPECT_EQ(counters().dropped, 1u);
    EXPECT_EQ(counters().changed, 1u);
    EXPECT_EQ(counters().failed_open + counters().failed_closed, 0u);
    EXPECT_EQ(source_->stats().changed_refused, 0u);
    EXPECT_EQ(source_->stats().verdict_errors, 0u);
    EXPECT_EQ(testing::UdpChecksumErrors(), csum_errors) << "the kernel accepted the checksums";
}

// Only the payload may change (issue 13, item 8): a CHANGED verdict that
// rewrites a header is refused, counted, and the original packet goes by
// on_guest_absent (fail-open here: it arrives unchanged).
TEST_P(NfqueueIntegration, AChangedHeaderIsRefusedAndThePacketGoesByPolicy) {
    SourceConfig config = WebSource(std::chrono::seconds(30), FailPolicy::kFailOpen);
    config.policy.on_guest_absent = FailPolicy::kFailOpen;
    ASSERT_NO_FATAL_FAILURE(Start(config));
    ASSERT_EQ(sender_->SendTo(kPort, "please reroute-me"), 0);
    ASSERT_EQ(sender_->SendTo(kPort, "my secret value"), 0);
    ASSERT_TRUE(Loop([&] { return received_.size() >= 2 && source_->held() == 0; }))
        << "received " << received_.size() << ", held " << source_->held();
    EXPECT_TRUE(Contains(received_, "please reroute-me")) << "the original, by fail-open";
    EXPECT_TRUE(Contains(received_, "my XXXXXX value")) << "a payload change is still allowed";
    EXPECT_EQ(source_->stats().changed_header_refused, 1u);
}

TEST_P(NfqueueIntegration, ManyPassedPacketsAllArrive) {
    ASSERT_NO_FATAL_FAILURE(Start(WebSource(std::chrono::seconds(30), FailPolicy::kFailClosed)));
    constexpr int kCount = 200;
    for (int i = 0; i < kCount; ++i) {
        std::string text = "packet " + std::to_string(i) + (i % 10 == 3 ? " drop-me" : "");
        ASSERT_EQ(sender_->SendTo(kPort, text), 0);
    }
    ASSERT_TRUE(Loop([&] { return received_.size() >= 180 && source_->held() == 0; }))
        << "received " << received_.size();
    EXPECT_EQ(received_.size(), 180u);
    EXPECT_EQ(counters().passed, 180u);
    EXPECT_EQ(counters().dropped, 20u);
    EXPECT_EQ(source_->stats().verdict_errors, 0u);
    for (const std::string& r : received_) EXPECT_EQ(r.find("drop-me"), std::string::npos);
}

TEST_P(NfqueueIntegration, SilentGuestFailClosedDropsAfterDeadline) {
    guest_.silent = true;
    ASSERT_NO_FATAL_FAILURE(
        Start(WebSource(std::chrono::milliseconds(50), FailPolicy::kFailClosed)));
    ASSERT_EQ(sender_->SendTo(kPort, "nobody answers"), 0);
    ASSERT_TRUE(Loop([&] { return counters().timed_out == 1 && source_->held() == 0; }));
    EXPECT_EQ(counters().failed_closed, 1u);
    EXPECT_EQ(counters().failed_open, 0u);
    EXPECT_EQ(guest_.sent, 1);
    // The verdict was NF_DROP and the kernel has freed the packet: nothing
    // can arrive any more. Look once more to be sure nothing did.
    Loop([] { return false; }, std::chrono::milliseconds(200));
    EXPECT_TRUE(received_.empty());
}

TEST_P(NfqueueIntegration, SilentGuestFailOpenDeliversAfterDeadline) {
    guest_.silent = true;
    ASSERT_NO_FATAL_FAILURE(Start(WebSource(std::chrono::milliseconds(50), FailPolicy::kFailOpen)));
    ASSERT_EQ(sender_->SendTo(kPort, "nobody answers"), 0);
    ASSERT_TRUE(Loop([&] { return received_.size() == 1 && source_->held() == 0; }));
    EXPECT_EQ(received_[0], "nobody answers");
    EXPECT_EQ(counters().timed_out, 1u);
    EXPECT_EQ(counters().failed_open, 1u);
    EXPECT_EQ(counters().failed_closed, 0u);
}

TEST_P(NfqueueIntegration, GuestGoneAtShutdownAnswersByPolicy) {
    guest_.silent = true;
    ASSERT_NO_FATAL_FAILURE(
        Start(WebSource(std::chrono::seconds(60), FailPolicy::kFailClosed, FailPolicy::kFailOpen)));
    ASSERT_EQ(sender_->SendTo(kPort, "held at shutdown"), 0);
    ASSERT_TRUE(Loop([&] { return dispatcher_->pending() == 1; }));
    dispatcher_->OnGuestGone();
    ASSERT_TRUE(source_->Flush().ok());
    EXPECT_EQ(source_->held(), 0u);
    source_.reset();
    EXPECT_EQ(counters().guest_absent, 1u);
    EXPECT_EQ(counters().failed_open, 1u);
    auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (received_.empty() && std::chrono::steady_clock::now() < until) {
        pollfd p{-1, 0, 0};
        poll(&p, 0, 10);
        receiver_->Drain(received_);
    }
    ASSERT_EQ(received_.size(), 1u);
    EXPECT_EQ(received_[0], "held at shutdown");
}

TEST_P(NfqueueIntegration, SourceDestroyedFirstStillAnswersByPolicy) {
    guest_.silent = true;
    ASSERT_NO_FATAL_FAILURE(
        Start(WebSource(std::chrono::seconds(60), FailPolicy::kFailClosed, FailPolicy::kFailOpen)));
    ASSERT_EQ(sender_->SendTo(kPort, "source goes first"), 0);
    ASSERT_TRUE(Loop([&] { return dispatcher_->pending() == 1; }));
    source_.reset();             // answers what it holds by on_guest_absent
    dispatcher_->OnGuestGone();  // its reply now finds no source: harmless
    auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (received_.empty() && std::chrono::steady_clock::now() < until) {
        pollfd p{-1, 0, 0};
        poll(&p, 0, 10);
        receiver_->Drain(received_);
    }
    ASSERT_EQ(received_.size(), 1u);
    EXPECT_EQ(received_[0], "source goes first");
}

INSTANTIATE_TEST_SUITE_P(Families, NfqueueIntegration, ::testing::Values(AF_INET, AF_INET6),
                         [](const auto& info) { return info.param == AF_INET ? "IPv4" : "IPv6"; });

}  // namespace
}  // namespace hvkit::filterd
