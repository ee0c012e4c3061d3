#include "daemon.h"

#include "fd_budget.h"

#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "vm_attach.h"

namespace hvkit::filterd {
namespace {

constexpr std::chrono::milliseconds kFirstBackoff{100};
constexpr std::chrono::milliseconds kMaxBackoff{5000};
// Verdicts handed to the dispatcher per turn; more wait for the next turn.
constexpr size_t kVerdictBatch = 1024;

void Log(const std::string& message) {
    std::fprintf(stderr, "hvfilterd: %s\n", message.c_str());
}

}  // namespace

Daemon::Daemon(FilterConfig config)
    : config_(std::move(config)),
      link_(RingSourcesOf(config_), ChainTableOf(config_)),
      dispatcher_(SourcePolicies(config_), clock_, link_) {}

Daemon::~Daemon() {
    Shutdown();
}

Result<std::unique_ptr<Daemon>> Daemon::Start(FilterConfig config,
                                              const std::string& stats_socket) {
    HVKIT_RETURN_IF_ERROR(ReserveFds(config));
    std::unique_ptr<Daemon> daemon(new Daemon(std::move(config)));
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    daemon->signals_ = UniqueFd(signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC));
    if (!daemon->signals_.valid()) {
        return Error(ErrorCode::kIo, std::string("signalfd: ") + strerror(errno));
    }
    if (!stats_socket.empty()) {
        HVKIT_ASSIGN_OR_RETURN(daemon->stats_, StatsSocket::Listen(stats_socket));
    }
    HVKIT_RETURN_IF_ERROR(daemon->SetUpSources());
    daemon->next_attach_ = daemon->clock_.Now();
    return daemon;
}

Status Daemon::SetUpSources() {
    std::vector<NftQueueRules> rules = NftQueueRulesOf(config_);
    if (!rules.empty()) {
        HVKIT_ASSIGN_OR_RETURN(table_, NftTable::Install(rules));
    }
    network_.resize(config_.sources.size());
    file_.resize(config_.sources.size());
    for (size_t i = 0; i < config_.sources.size(); ++i) {
        const SourceConfig& source = config_.sources[i];
        auto index = static_cast<SourceIndex>(i);
        if (source.kind == SourceKind::kNetwork) {
            HVKIT_ASSIGN_OR_RETURN(network_[i], NfqueueSource::Open(source, index, dispatcher_));
        } else {
            HVKIT_ASSIGN_OR_RETURN(file_[i], FanotifySource::Start(source, index, dispatcher_));
        }
    }
    return Status::Ok();
}

void Daemon::MaybeAttach() {
    if (link_.Attached() || clock_.Now() < next_attach_) return;
    Result<RegionFds> fds = AttachToVm(config_.control_socket);
    Status attached = fds.ok() ? link_.Attach(std::move(fds.value())) : fds.status();
    if (attached.ok()) {
        Log("attached to the filter region of " + config_.control_socket);
        was_attached_ = true;
        backoff_ = std::chrono::milliseconds(0);
        last_attach_error_.clear();
        return;
    }
    // Say each distinct failure once: a VM that is down fails the same way
    // every few seconds.
    if (attached.message() != last_attach_error_) {
        Log(attached.message() + "; items go by on_guest_absent until attached, retrying");
        last_attach_error_ = attached.message();
    }
    backoff_ = std::clamp(backoff_ * 2, kFirstBackoff, kMaxBackoff);
    next_attach_ = clock_.Now() + backoff_;
}

void Daemon::NoticeDetach() {
    if (!was_attached_ || link_.Attached()) return;
    was_attached_ = false;
    Log(link_.last_problem() + "; pending items answered by on_guest_absent, re-attaching");
    dispatcher_.OnGuestGone();
    backoff_ = kFirstBackoff;
    next_attach_ = clock_.Now() + backoff_;
}

int Daemon::PollTimeout(bool more_verdicts) {
    if (more_verdicts) return 0;
    if (link_.Attached() && !link_.PrepareToSleep()) return 0;
    NoticeDetach();  // arming the doorbell can find the ring broken
    int timeout = dispatcher_.PollTimeoutMs();
    if (!link_.Attached()) {
        auto wait = std::chrono::ceil<std::chrono::milliseconds>(next_attach_ - clock_.Now());
        int attach_ms = static_cast<int>(std::max<int64_t>(0, wait.count()));
        timeout = timeout < 0 ? attach_ms : std::min(timeout, attach_ms);
    }
    return timeout;
}

bool Daemon::HandleReady(const std::vector<pollfd>& ready) {
    bool stop = false;
    for (const pollfd& p : ready) {
        if (p.revents == 0) continue;
        if (p.fd == signals_.get()) {
            signalfd_siginfo info{};
            while (read(signals_.get(), &info, sizeof(info)) == sizeof(info)) {
                Log(std::string("stopping on ") + strsignal(static_cast<int>(info.ssi_signo)));
                stop = true;
            }
        }
    }
    for (size_t i = 0; i < config_.sources.size(); ++i) {
        // Level-triggered and non-blocking: reading a quiet source costs a
        // failed recv, so each turn reads every source.
        Status st = network_[i] ? network_[i]->OnReadable() : file_[i]->OnReadable();
        if (!st.ok()) Log("source " + config_.sources[i].name + ": " + st.message());
    }
    return !stop;
}

Status Daemon::Run() {
    bool more_verdicts = false;
    for (;;) {
        MaybeAttach();
        std::vector<pollfd> fds;
        fds.push_back({signals_.get(), POLLIN, 0});
        for (size_t i = 0; i < config_.sources.size(); ++i) {
            int fd = network_[i] ? network_[i]->fd() : file_[i]->fd();
            fds.push_back({fd, POLLIN, 0});
        }
        if (stats_) fds.push_back({stats_->fd(), POLLIN, 0});
        int timeout = PollTimeout(more_verdicts);
        if (link_.Attached()) fds.push_back({link_.doorbell_fd(), POLLIN, 0});
        if (link_.control_fd() >= 0) fds.push_back({link_.control_fd(), POLLIN, 0});
        if (poll(fds.data(), fds.size(), timeout) < 0 && errno != EINTR) {
            return Error(ErrorCode::kIo, std::string("poll: ") + strerror(errno));
        }
        bool go_on = HandleReady(fds);
        for (const pollfd& p : fds) {
            if (p.fd == link_.control_fd() && p.revents != 0) link_.OnControlReadable();
        }
        NoticeDetach();
        more_verdicts = link_.Attached() && link_.DeliverVerdicts(dispatcher_, kVerdictBatch);
        NoticeDetach();
        dispatcher_.Tick();
        for (auto& source : network_) {
            if (!source) continue;
            Status st = source->Flush();
            if (!st.ok()) Log(st.message());
        }
        bool stats_asked = stats_ && std::any_of(fds.begin(), fds.end(), [&](const pollfd& p) {
                               return p.fd == stats_->fd() && p.revents != 0;
                           });
        if (stats_asked) stats_->Serve(DumpJson(StatsJson(), 0) + "\n");
        if (!go_on) break;
    }
    Shutdown();
    return Status::Ok();
}

void Daemon::Shutdown() {
    if (shut_down_) return;
    shut_down_ = true;
    // The order docs/filters.md gives: the dispatcher answers by
    // on_guest_absent first, so its counters record it; then the verdicts
    // go out, then the sources close, then the table goes.
    dispatcher_.OnGuestGone();
    for (auto& source : network_) {
        if (!source) continue;
        Status st = source->Flush();
        if (!st.ok()) Log(st.message());
    }
    for (auto& source : file_) {
        if (source) source->Shutdown();
    }
    network_.clear();
    file_.clear();
    table_.reset();
    link_.Detach("");
    stats_.reset();
}

Json Daemon::StatsJson() const {
    Json out = dispatcher_.StatsJson();
    Json& sources = out["sources"];
    for (size_t i = 0; i < config_.sources.size(); ++i) {
        Json& entry = sources[config_.sources[i].name];
        if (i < network_.size() && network_[i]) {
            entry["nfqueue"] = NfqueueStatsJson(network_[i]->stats());
        } else if (i < file_.size() && file_[i]) {
            entry["fanotify"] = file_[i]->StatsJson();
        }
    }
    out["guest"] = link_.StatsJson();
    out["guest"]["control_socket"] = config_.control_socket;
    return out;
}

}  // namespace hvkit::filterd
