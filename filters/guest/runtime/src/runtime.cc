// The filter runtime's loop: attach, take requests, feed the worker, take
// its replies, publish verdicts, sleep until the host kicks.
#include "hvkit/filter_runtime/runtime.h"

#include <poll.h>
#include <sched.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <deque>
#include <optional>

#include "chain_worker.h"
#include "hvkit/clock.h"
#include "hvkit/filter_chain_table.h"
#include "hvkit/filter_region.h"
#include "hvkit/filter_ring.h"
#include "hvkit/fs.h"

namespace hvkit::filter_runtime {

namespace {

namespace ring = filter_ring;
using std::chrono::milliseconds;

constexpr size_t kReceiveBatch = 256;
constexpr size_t kMaxWaiting = 65536;
constexpr milliseconds kAttachRetry{200};
constexpr milliseconds kFirstBackoff{50};
constexpr milliseconds kMaxBackoff{5000};
constexpr auto kHealthyWorker = std::chrono::seconds(10);
constexpr auto kStatusInterval = std::chrono::seconds(1);

// An item taken off the ring, not yet in the worker.
struct Held {
    ring::FilterRequest request;
    MonoTime deadline;  // the budget, on the guest's clock
};

// A format id as the log and the status file show it: 16 hex digits.
std::string FormatIdText(uint64_t id) {
    char text[24];
    std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(id));
    return text;
}

int MillisUntil(MonoTime when, MonoTime now) {
    if (when <= now) return 0;
    return static_cast<int>(std::chrono::ceil<milliseconds>(when - now).count());
}

}  // namespace

struct FilterRuntime::State {
    std::unique_ptr<RegionDevice> device;
    RuntimeOptions options;
    RuntimeStats stats;
    std::string last_problem;
    std::string last_attach_error;

    // The format attached to.
    std::optional<ring::FilterRegion> region;
    std::unique_ptr<ring::RequestConsumer> requests;
    std::unique_ptr<ring::VerdictProducer> verdicts;
    std::vector<ring::ChainSpec> chains;
    uint64_t refused_format = 0;  // a format id not to attach to again
    MonoTime next_attach_try{};

    // The worker and the items on their way through it.
    std::unique_ptr<ChainWorker> worker;
    MonoTime worker_due{};
    MonoTime worker_started{};
    milliseconds backoff = kFirstBackoff;
    std::deque<Held> waiting;
    std::deque<uint64_t> in_worker;
    std::deque<ring::FilterVerdict> unstaged;  // verdicts waiting for room in the ring
    bool staged = false;

    MonoTime next_status{};
    std::string written_status;
    MonoTime last_activity{};  // the last request taken or reply received
    std::string poll_error;    // why the loop could not go on, if it failed

    void Log(const std::string& message) {
        std::fprintf(stderr, "hvagent filters: %s\n", message.c_str());
    }
    void Problem(const std::string& message) {
        last_problem = message;
        Log(message);
    }

    void TryAttach(MonoTime now);
    void Detach(const std::string& why, bool refuse_format);
    void EnsureWorker(MonoTime now);
    void WorkerGone(const std::string& why, MonoTime now);
    bool TakeRequests(MonoTime now);
    void DropExpired(MonoTime now);
    void FeedWorker(MonoTime now);
    void TakeReplies(MonoTime now);
    void TakeReply(WorkReply reply);
    void Stage(ring::FilterVerdict verdict);
    void Publish();
    bool Sleep(int stop_fd, MonoTime now);
    void WriteStatus(MonoTime now, bool force);
    Json StatsJson() const;
};

void FilterRuntime::State::TryAttach(MonoTime now) {
    if (now < next_attach_try) return;
    next_attach_try = now + kAttachRetry;
    Result<ring::FilterRegion> attached = ring::Attach(device->region());
    if (!attached.ok()) {
        // Not formatted yet is the usual case at boot: said once.
        if (attached.status().message() != last_attach_error) {
            last_attach_error = attached.status().message();
            Log("waiting for a filter region: " + last_attach_error);
        }
        return;
    }
    if (attached->format_id == refused_format) return;
    Result<std::vector<ring::ChainSpec>> table = ring::DecodeChainTable(attached->chain_table);
    if (!table.ok()) {
        refused_format = attached->format_id;
        ++stats.refused_formats;
        Problem("refusing the filter region's format: " + table.status().message() +
                "; the host's policies answer its items");
        return;
    }
    if (!ring::ClaimForGuest(*attached)) {
        // An earlier runtime served this format; its ring positions died
        // with it. The host formats a fresh region when asked.
        refused_format = attached->format_id;
        ring::RequestReset(*attached);
        device->Kick();
        Log("the filter region was served by an earlier runtime: asked the host for a fresh one");
        return;
    }
    region = std::move(attached).value();
    requests = std::make_unique<ring::RequestConsumer>(*region);
    verdicts = std::make_unique<ring::VerdictProducer>(*region);
    chains = std::move(table).value();
    last_attach_error.clear();
    ++stats.attaches;
    worker_due = now;
    backoff = kFirstBackoff;
    Log("attached to " + device->Describe() + ", format " + FormatIdText(region->format_id) + ", " +
        std::to_string(chains.size()) + " chains");
}

void FilterRuntime::State::Detach(const std::string& why, bool refuse_format) {
    if (refuse_format) {
        // The host broke a ring rule: ask it for a fresh format (one it
        // formats again works; a host that keeps breaking them keeps losing
        // its items to its own policies).
        refused_format = region->format_id;
        ring::RequestReset(*region);
        device->Kick();
    }
    Problem("detached: " + why);
    worker.reset();
    requests.reset();
    verdicts.reset();
    region.reset();
    chains.clear();
    waiting.clear();
    in_worker.clear();
    unstaged.clear();
    staged = false;
}

void FilterRuntime::State::EnsureWorker(MonoTime now) {
    if (worker || now < worker_due) return;
    WorkerOptions worker_options;
    worker_options.module_dirs = options.module_dirs;
    worker_options.max_item_bytes = region->request_data.size / 2;
    worker_options.max_changed_bytes = region->verdict_data.size / 2;
    ++stats.worker_starts;
    Result<std::unique_ptr<ChainWorker>> started = ChainWorker::Start(chains, worker_options);
    if (!started.ok()) {
        ++stats.worker_failures;
        Problem(started.status().message() + "; trying again in " +
                std::to_string(backoff.count()) + " ms");
        worker_due = now + backoff;
        backoff = std::min(backoff * 2, kMaxBackoff);
        return;
    }
    worker = std::move(started).value();
    worker_started = now;
    Log("chain worker " + std::to_string(worker->pid()) + " started");
}

void FilterRuntime::State::WorkerGone(const std::string& why, MonoTime now) {
    ++stats.worker_failures;
    stats.abandoned += in_worker.size();
    if (now - worker_started > kHealthyWorker) backoff = kFirstBackoff;
    Problem(why + "; " + std::to_string(in_worker.size()) +
            " items it held are left to the host's policy; a new worker in " +
            std::to_string(backoff.count()) + " ms");
    in_worker.clear();
    worker.reset();
    worker_due = now + backoff;
    backoff = std::min(backoff * 2, kMaxBackoff);
}

bool FilterRuntime::State::TakeRequests(MonoTime now) {
    std::vector<ring::FilterRequest> batch;
    Result<size_t> taken = requests->Receive(batch, kReceiveBatch);
    if (!taken.ok()) {
        Detach("request ring: " + taken.status().message(), true);
        return false;
    }
    if (!batch.empty()) last_activity = now;
    for (ring::FilterRequest& request : batch) {
        ++stats.requests;
        const auto budget = std::chrono::microseconds(request.budget_us);
        waiting.push_back(Held{std::move(request), now + budget});
    }
    while (waiting.size() > kMaxWaiting) {
        waiting.pop_front();
        ++stats.expired;
    }
    return *taken == kReceiveBatch;
}

void FilterRuntime::State::DropExpired(MonoTime now) {
    auto expired = [now](const Held& held) { return held.deadline < now; };
    const size_t before = waiting.size();
    waiting.erase(std::remove_if(waiting.begin(), waiting.end(), expired), waiting.end());
    stats.expired += before - waiting.size();
}

void FilterRuntime::State::FeedWorker(MonoTime now) {
    while (worker && in_worker.size() < options.window && !waiting.empty()) {
        // One batch: up to kMaxBatchItems, within the window, about
        // kMaxBatchBytes (a larger single item goes alone).
        std::vector<const ring::FilterRequest*> batch;
        size_t bytes = 0;
        for (const Held& held : waiting) {
            if (batch.size() == kMaxBatchItems ||
                in_worker.size() + batch.size() >= options.window) {
                break;
            }
            if (!batch.empty() && bytes + held.request.bytes.size() > kMaxBatchBytes) break;
            batch.push_back(&held.request);
            bytes += held.request.bytes.size();
        }
        Status sent = worker->Send(batch);
        if (sent.code() == ErrorCode::kTooLarge) return;  // its socket is full: later
        if (!sent.ok()) {
            WorkerGone("chain worker " + std::to_string(worker->pid()) + ": " + sent.message(),
                       now);
            return;
        }
        for (size_t i = 0; i < batch.size(); ++i) {
            in_worker.push_back(waiting.front().request.item_id);
            waiting.pop_front();
        }
    }
}

void FilterRuntime::State::TakeReplies(MonoTime now) {
    while (worker) {
        Result<std::vector<WorkReply>> received = worker->Receive();
        if (!received.ok()) {
            WorkerGone(received.status().message(), now);
            return;
        }
        if (received->empty()) return;
        last_activity = now;
        for (WorkReply& reply : *received) TakeReply(std::move(reply));
    }
}

void FilterRuntime::State::TakeReply(WorkReply reply) {
    // The worker answers in order; an id it does not hold is ignored.
    auto it = std::find(in_worker.begin(), in_worker.end(), reply.item_id);
    if (it == in_worker.end()) return;
    in_worker.erase(it);
    if (reply.outcome == WorkOutcome::kUndecided) {
        ++stats.undecided;
        last_problem = "chain error: " + std::string(reply.bytes.begin(), reply.bytes.end());
        if (stats.undecided <= 10 || stats.undecided % 1000 == 0) Log(last_problem);
        return;
    }
    ring::FilterVerdict verdict;
    verdict.item_id = reply.item_id;
    verdict.verdict = static_cast<ring::Verdict>(reply.outcome);
    verdict.module = reply.module;
    if (reply.outcome == WorkOutcome::kChanged) verdict.changed_bytes = std::move(reply.bytes);
    Stage(std::move(verdict));
}

void FilterRuntime::State::Stage(ring::FilterVerdict verdict) {
    if (!unstaged.empty()) {
        unstaged.push_back(std::move(verdict));
        return;
    }
    Status staged_now = verdicts->Stage(verdict);
    if (staged_now.code() == ErrorCode::kTooLarge) {
        unstaged.push_back(std::move(verdict));
        return;
    }
    if (staged_now.code() == ErrorCode::kInvalidArgument) {
        ++stats.undecided;  // e.g. a change too large for the verdict data area
        Problem("verdict for item " + std::to_string(verdict.item_id) + ": " +
                staged_now.message());
        return;
    }
    if (!staged_now.ok()) {
        Detach("verdict ring: " + staged_now.message(), true);
        return;
    }
    staged = true;
    switch (verdict.verdict) {
        case ring::Verdict::kPass:
            ++stats.passed;
            break;
        case ring::Verdict::kDrop:
            ++stats.dropped;
            break;
        case ring::Verdict::kChanged:
            ++stats.changed;
            break;
    }
}

void FilterRuntime::State::Publish() {
    for (int round = 0; round < 2 && verdicts; ++round) {
        if (staged) {
            Result<bool> kick = verdicts->Publish();
            if (!kick.ok()) {
                Detach("verdict ring: " + kick.status().message(), true);
                return;
            }
            if (*kick) device->Kick();
            staged = false;
        }
        // Room the host freed meanwhile takes what waited for it.
        std::deque<ring::FilterVerdict> retry;
        retry.swap(unstaged);
        for (ring::FilterVerdict& verdict : retry) Stage(std::move(verdict));
        if (!verdicts || !staged) return;
    }
}

bool FilterRuntime::State::Sleep(int stop_fd, MonoTime now) {
    int timeout = static_cast<int>(options.idle_check.count());
    if (region && now - last_activity < options.busy_poll) {
        // Busy: look again soon, without a doorbell or an interrupt. While
        // the worker holds items, wait for its replies (so it gets the CPU);
        // otherwise yield and look at the request ring again.
        pollfd fds[2] = {{stop_fd, POLLIN, 0}, {worker ? worker->fd() : -1, POLLIN, 0}};
        const bool worker_busy = worker && !in_worker.empty();
        if (poll(fds, worker_busy ? 2 : 1, worker_busy ? 1 : 0) > 0 && fds[0].revents != 0) {
            return false;
        }
        if (!worker_busy) sched_yield();
        return true;
    }
    if (!region) {
        timeout = static_cast<int>(kAttachRetry.count());
    } else {
        device->Unmask();
        Result<bool> empty = requests->PrepareToSleep();
        if (!empty.ok()) {
            Detach("request ring: " + empty.status().message(), true);
            return true;
        }
        if (!*empty) return true;  // requests arrived meanwhile
        if (!unstaged.empty() || (!waiting.empty() && worker)) timeout = 1;
        if (!worker) timeout = std::min(timeout, MillisUntil(worker_due, now));
        if (!waiting.empty()) {
            auto soonest = std::min_element(waiting.begin(), waiting.end(), [](auto& a, auto& b) {
                return a.deadline < b.deadline;
            });
            timeout = std::min(timeout, MillisUntil(soonest->deadline, now) + 1);
        }
    }
    pollfd fds[3] = {{stop_fd, POLLIN, 0},
                     {device->interrupt_fd(), POLLIN, 0},
                     {worker ? worker->fd() : -1, POLLIN, 0}};
    if (poll(fds, 3, timeout) < 0 && errno != EINTR) {
        poll_error = std::string("poll: ") + strerror(errno);
        return false;
    }
    if (fds[0].revents != 0) return false;
    if (fds[1].revents & POLLIN) device->TakeInterrupt();
    return true;
}

Json FilterRuntime::State::StatsJson() const {
    Json out = Json::MakeObject();
    out["attaches"] = stats.attaches;
    out["refused_formats"] = stats.refused_formats;
    out["requests"] = stats.requests;
    out["expired"] = stats.expired;
    out["passed"] = stats.passed;
    out["dropped"] = stats.dropped;
    out["changed"] = stats.changed;
    out["undecided"] = stats.undecided;
    out["worker_starts"] = stats.worker_starts;
    out["worker_failures"] = stats.worker_failures;
    out["abandoned"] = stats.abandoned;
    out["attached"] = region.has_value();
    out["format_id"] = region ? FormatIdText(region->format_id) : std::string();
    out["chains"] = static_cast<uint64_t>(chains.size());
    out["worker_pid"] = worker ? static_cast<int64_t>(worker->pid()) : int64_t{0};
    out["last_problem"] = last_problem;
    return out;
}

void FilterRuntime::State::WriteStatus(MonoTime now, bool force) {
    if (options.status_path.empty() || (!force && now < next_status)) return;
    next_status = now + kStatusInterval;
    std::string text = DumpJson(StatsJson(), 0) + "\n";
    if (text == written_status) return;
    Status written = WriteFileAtomic(options.status_path, text);
    if (written.ok()) {
        written_status = std::move(text);
    } else {
        Problem("status file: " + written.message());
    }
}

FilterRuntime::FilterRuntime(std::unique_ptr<RegionDevice> device, RuntimeOptions options)
    : state_(std::make_unique<State>()) {
    state_->device = std::move(device);
    state_->options = std::move(options);
}

FilterRuntime::~FilterRuntime() = default;

Status FilterRuntime::Run(int stop_fd) {
    State& s = *state_;
    for (;;) {
        MonoTime now = RealClock().Now();
        if (s.region && !ring::StillFormatted(*s.region)) {
            s.Detach("the host formatted the region again", false);
        }
        if (!s.region) s.TryAttach(now);
        bool more = false;
        if (s.region) s.EnsureWorker(now);
        if (s.region) more = s.TakeRequests(now);
        if (s.region) s.DropExpired(now);  // once a turn: both feeds use this `now`
        if (s.region) s.FeedWorker(now);
        if (s.region) s.TakeReplies(now);
        if (s.region) s.Publish();
        if (s.region) s.FeedWorker(now);
        s.WriteStatus(now, false);
        if (more) continue;
        if (!s.Sleep(stop_fd, now)) break;
    }
    s.WriteStatus(RealClock().Now(), true);
    if (!s.poll_error.empty()) return Error(ErrorCode::kIo, "hvagent filters: " + s.poll_error);
    return Status::Ok();
}

const RuntimeStats& FilterRuntime::stats() const {
    return state_->stats;
}

Json FilterRuntime::StatsJson() const {
    return state_->StatsJson();
}

}  // namespace hvkit::filter_runtime
