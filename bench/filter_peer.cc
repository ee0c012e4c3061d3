// The host-only peer of the guest packet chain (docs/benchmarks.md,
// "Filters"): hvfilterd's own network source - its nft table, its NFQUEUE
// source, its dispatcher, its verdict batching and the checksum fix-up of
// changed packets - with the guest's ring and VM replaced by the same
// module chain run in this process. The only difference from the guest path
// is where the chain runs.
//
//   bench_filter_peer --queue N --rule 'NFT MATCH EXPR' --modules DIR
//                     --chain CHAIN.json [--seconds S]
//
// Installs table inet hvfilter_peer (not hvfilterd's, so a daemon in the
// same namespace keeps its own) sending what the rule matches to NFQUEUE N.
// Every policy is fail-closed, with a 1000 ms deadline; a module error drops
// the packet. Runs until SIGINT/SIGTERM or S seconds, removes the table and
// prints one JSON line of counters: passed, dropped, changed (the chain's
// verdicts), errors (packets dropped because a module failed), by_policy
// (packets a policy answered: timeout, overflow; nonzero means the peer
// fell behind) and overruns (queue messages the kernel could not deliver).
// Exit 0, 1 on a runtime failure, 2 on a usage error.
#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "filter_bench_common.h"
#include "hvkit/filterd/dispatcher.h"
#include "hvkit/filterd/nfqueue_source.h"
#include "hvkit/filterd/nft_table.h"
#include "hvkit/fs.h"

namespace hvkit::bench {
namespace {

constexpr const char* kTool = "bench_filter_peer";
constexpr const char* kTable = "hvfilter_peer";
constexpr const char* kUsage =
    "usage: bench_filter_peer --queue N --rule 'NFT MATCH EXPR' --modules DIR --chain CHAIN.json "
    "[--seconds S]";

using filterd::Dispatcher;
using filterd::ItemId;
using filterd::Verdict;

// The guest link of this peer: items are queued as the ring would hold
// them, and each loop turn runs them through the chain and hands the
// verdicts to the dispatcher, as the daemon delivers the guest's.
class LocalChainLink final : public filterd::GuestLink {
  public:
    explicit LocalChainLink(filters::Chain chain) : chain_(std::move(chain)) {}

    bool Attached() const override { return true; }

    filterd::SendOutcome Send(const filterd::Item& item) override {
        queued_.push_back({item.id, item.payload});
        return filterd::SendOutcome::kSent;
    }

    // Runs every queued item through the chain and answers it.
    void Deliver(Dispatcher& dispatcher) {
        std::vector<Queued> batch;
        batch.swap(queued_);
        for (Queued& q : batch) dispatcher.OnVerdict(q.id, Inspect(q.payload));
    }

    uint64_t passed = 0, dropped = 0, changed = 0, errors = 0;

  private:
    struct Queued {
        ItemId id;
        std::vector<uint8_t> payload;
    };

    Verdict Inspect(const std::vector<uint8_t>& packet) {
        filters::FilterItem item;
        item.source = HVFILTER_ITEM_NETWORK;
        item.bytes = packet;
        Result<filters::FilterOutcome> outcome = chain_.Run(item);
        if (!outcome.ok()) {
            // Said once: a broken module fails every packet the same way.
            if (errors++ == 0) Fail(kTool, outcome.status().message() + " (packet dropped)", 0);
            return Verdict::Drop();
        }
        switch (outcome->verdict) {
            case filters::FilterVerdict::kPass:
                ++passed;
                return Verdict::Pass();
            case filters::FilterVerdict::kDrop:
                ++dropped;
                return Verdict::Drop();
            case filters::FilterVerdict::kChanged:
                ++changed;
                return Verdict::Changed(std::move(outcome->changed));
        }
        return Verdict::Drop();
    }

    filters::Chain chain_;
    std::vector<Queued> queued_;
};

struct PeerOptions {
    filterd::SourceConfig source;
    std::string modules;
    std::string chain;
    int64_t seconds = 0;  // 0: until a signal
};

Result<PeerOptions> ParseOptions(const std::vector<std::string>& argv) {
    HVKIT_ASSIGN_OR_RETURN(
        cli::Args args,
        cli::ParseArgs(argv, {{"--queue", "--rule", "--modules", "--chain", "--seconds"}}));
    PeerOptions o;
    HVKIT_ASSIGN_OR_RETURN(int64_t queue, RequiredInteger(args, "--queue", 0, 65535));
    HVKIT_ASSIGN_OR_RETURN(std::string rule, args.Required("--rule"));
    // The rule becomes one line of the nft script, as a hvfilterd rule does.
    if (rule.empty() || rule.find_first_of(";#\n\r") != std::string::npos) {
        return Error(ErrorCode::kInvalidArgument,
                     "--rule '" + rule +
                         "': must be one non-empty nft match expression without ';', '#' or a "
                         "line break");
    }
    HVKIT_ASSIGN_OR_RETURN(o.modules, args.Required("--modules"));
    HVKIT_ASSIGN_OR_RETURN(o.chain, args.Required("--chain"));
    HVKIT_ASSIGN_OR_RETURN(o.seconds, IntegerOption(args, "--seconds", 1, 86400, 0));

    filterd::SourceConfig& s = o.source;
    s.name = "peer";
    s.kind = filterd::SourceKind::kNetwork;
    s.network = filterd::NetworkSection{static_cast<uint16_t>(queue), {rule}, 32};
    s.policy.name = s.name;
    s.policy.deadline = std::chrono::milliseconds(1000);
    s.policy.on_timeout = filterd::FailPolicy::kFailClosed;
    s.policy.on_guest_absent = filterd::FailPolicy::kFailClosed;
    s.policy.on_overflow = filterd::FailPolicy::kFailClosed;
    s.policy.max_pending = 4096;
    s.max_item_bytes = 65535;
    return o;
}

// SIGINT and SIGTERM as a readable fd; blocked first so neither kills the
// process with the table left behind.
Result<UniqueFd> StopSignals() {
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    if (sigprocmask(SIG_BLOCK, &mask, nullptr) != 0) {
        return Error(ErrorCode::kIo, std::string("blocking SIGINT/SIGTERM: ") + strerror(errno));
    }
    UniqueFd fd(signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC));
    if (!fd.valid()) return Error(ErrorCode::kIo, std::string("signalfd: ") + strerror(errno));
    return fd;
}

// The daemon's loop (docs/filters.md, "The daemon") minus the ring: read
// the queue, answer through the chain, enforce deadlines, send verdicts.
Status Serve(const PeerOptions& o, int stop_fd, filterd::NfqueueSource& source,
             Dispatcher& dispatcher, LocalChainLink& link) {
    uint64_t end_ns =
        o.seconds ? MonotonicNs() + static_cast<uint64_t>(o.seconds) * 1000000000u : 0;
    for (;;) {
        int timeout = dispatcher.PollTimeoutMs();
        if (end_ns) {
            uint64_t now = MonotonicNs();
            if (now >= end_ns) return Status::Ok();
            int left = static_cast<int>((end_ns - now + 999999) / 1000000);
            timeout = timeout < 0 ? left : std::min(timeout, left);
        }
        pollfd fds[] = {{stop_fd, POLLIN, 0}, {source.fd(), POLLIN, 0}};
        if (poll(fds, 2, timeout) < 0 && errno != EINTR) {
            return Error(ErrorCode::kIo, std::string("poll: ") + strerror(errno));
        }
        Status st = source.OnReadable();
        if (!st.ok()) Fail(kTool, st.message(), 0);
        link.Deliver(dispatcher);
        dispatcher.Tick();
        st = source.Flush();
        if (!st.ok()) Fail(kTool, st.message(), 0);
        if (fds[0].revents) return Status::Ok();
    }
}

int Main(const std::vector<std::string>& argv) {
    Result<PeerOptions> options = ParseOptions(argv);
    if (!options.ok()) return Fail(kTool, options.status().message() + "\n" + kUsage, 2);
    const PeerOptions& o = *options;
    Result<UniqueFd> stop = StopSignals();
    if (!stop.ok()) return Fail(kTool, stop.status().message(), 1);
    Result<filters::Chain> chain = LoadChain(o.modules, o.chain);
    if (!chain.ok()) return Fail(kTool, chain.status().message(), 2);

    const Clock& clock = RealClock();
    LocalChainLink link(std::move(*chain));
    Dispatcher dispatcher({o.source.policy}, clock, link);
    // The queue is bound before the rule exists, so no packet meets a queue
    // nobody reads.
    Result<std::unique_ptr<filterd::NfqueueSource>> source =
        filterd::NfqueueSource::Open(o.source, 0, dispatcher);
    if (!source.ok()) return Fail(kTool, source.status().message(), 1);
    // The table hvfilterd would install for this source, under another name.
    filterd::FilterConfig as_config;
    as_config.sources = {o.source};
    Result<std::unique_ptr<filterd::NftTable>> table =
        filterd::NftTable::Install(filterd::NftQueueRulesOf(as_config), kTable);
    if (!table.ok()) return Fail(kTool, table.status().message(), 1);
    std::fprintf(stderr, "%s: ready: table inet %s sends '%s' to NFQUEUE %u\n", kTool, kTable,
                 o.source.network->rules[0].c_str(), o.source.network->queue);

    Status served = Serve(o, stop->get(), **source, dispatcher, link);
    // hvfilterd's shutdown order: policy answers, verdicts out, queue, table.
    dispatcher.OnGuestGone();
    Status flushed = (*source)->Flush();
    if (!flushed.ok()) Fail(kTool, flushed.message(), 0);
    uint64_t overruns = (*source)->stats().overruns;
    source->reset();
    table->reset();
    const filterd::SourceCounters& c = dispatcher.counters(0);
    uint64_t by_policy = c.failed_open + c.failed_closed;
    std::printf(
        "{\"passed\":%llu,\"dropped\":%llu,\"changed\":%llu,\"errors\":%llu,\"by_policy\":%llu,"
        "\"overruns\":%llu}\n",
        static_cast<unsigned long long>(link.passed), static_cast<unsigned long long>(link.dropped),
        static_cast<unsigned long long>(link.changed), static_cast<unsigned long long>(link.errors),
        static_cast<unsigned long long>(by_policy), static_cast<unsigned long long>(overruns));
    if (!served.ok()) return Fail(kTool, served.message(), 1);
    return 0;
}

}  // namespace
}  // namespace hvkit::bench

int main(int argc, char** argv) {
    return hvkit::bench::Main(std::vector<std::string>(argv + 1, argv + argc));
}
