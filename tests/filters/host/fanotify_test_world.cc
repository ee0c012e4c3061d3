// The fanotify test world: rule link, loop thread, child accessors.
#include "fanotify_test_world.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <string_view>

namespace hvkit::filterd::testing {

namespace {

constexpr int kExitOk = 0;
constexpr int kExitDenied = 1;
constexpr int kExitOther = 2;
constexpr int kExitRan = 7;

// Waits for (child) at most 10 s; kills and reaps it after that.
AccessResult Reap(pid_t child) {
    if (child < 0) return AccessResult::kOtherError;
    auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    int status = 0;
    while (waitpid(child, &status, WNOHANG) == 0) {
        if (std::chrono::steady_clock::now() > until) {
            kill(child, SIGKILL);
            waitpid(child, &status, 0);
            return AccessResult::kTimedOut;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    if (!WIFEXITED(status)) return AccessResult::kOtherError;
    switch (WEXITSTATUS(status)) {
        case kExitOk:
            return AccessResult::kOk;
        case kExitDenied:
            return AccessResult::kDenied;
        case kExitRan:
            return AccessResult::kRan;
        default:
            return AccessResult::kOtherError;
    }
}

}  // namespace

SendOutcome RuleLink::Send(const Item& item) {
    payload_sizes_.push_back(item.payload.size());
    if (!answers_) return SendOutcome::kSent;
    std::string_view content(reinterpret_cast<const char*>(item.payload.data()),
                             item.payload.size());
    if (content.find(kSignature) != std::string_view::npos) {
        verdicts_.emplace_back(item.id, Verdict::Drop());
    } else if (size_t at = content.find(kRewriteMarker); at != std::string_view::npos) {
        std::vector<uint8_t> changed = item.payload;
        std::fill_n(changed.begin() + static_cast<ptrdiff_t>(at), sizeof(kRewriteMarker) - 1, 'x');
        verdicts_.emplace_back(item.id, Verdict::Changed(std::move(changed)));
    } else {
        verdicts_.emplace_back(item.id, Verdict::Pass());
    }
    return SendOutcome::kSent;
}

LoopThread::LoopThread(FanotifySource& source, Dispatcher& dispatcher, RuleLink& link)
    : source_(source),
      dispatcher_(dispatcher),
      link_(link),
      wake_fd_(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
    thread_ = std::thread([this] { Run(); });
}

void LoopThread::Stop() {
    if (!thread_.joinable()) return;
    stop_ = true;
    uint64_t one = 1;
    (void)!write(wake_fd_, &one, sizeof(one));
    thread_.join();
    close(wake_fd_);
}

void LoopThread::Run() {
    while (!stop_) {
        struct pollfd fds[2] = {{source_.fd(), POLLIN, 0}, {wake_fd_, POLLIN, 0}};
        int timeout = dispatcher_.PollTimeoutMs();
        // Bounded even with nothing pending, so a lost wake-up cannot hang.
        timeout = timeout < 0 ? 100 : std::min(timeout, 100);
        int n = poll(fds, 2, timeout);
        if (n > 0 && (fds[0].revents & POLLIN) != 0) {
            Status st = source_.OnReadable();
            if (!st.ok()) errors_.push_back(st.message());
        }
        for (auto& [id, verdict] : link_.TakeVerdicts()) dispatcher_.OnVerdict(id, verdict);
        dispatcher_.Tick();
        outstanding_ = source_.outstanding();
    }
}

const char* AccessResultName(AccessResult r) {
    switch (r) {
        case AccessResult::kOk:
            return "ok";
        case AccessResult::kDenied:
            return "denied (EPERM)";
        case AccessResult::kOtherError:
            return "other error";
        case AccessResult::kTimedOut:
            return "timed out";
        case AccessResult::kRan:
            return "ran";
    }
    return "?";
}

AccessResult OpenInChild(const std::string& path) {
    pid_t child = fork();
    if (child == 0) {
        int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0) _exit(errno == EPERM ? kExitDenied : kExitOther);
        char buf[4096];
        ssize_t n;
        while ((n = read(fd, buf, sizeof(buf))) > 0) {
        }
        _exit(n == 0 ? kExitOk : kExitOther);
    }
    return Reap(child);
}

AccessResult ExecInChild(const std::string& path) {
    pid_t child = fork();
    if (child == 0) {
        char* const argv[] = {const_cast<char*>(path.c_str()), nullptr};
        char* const envp[] = {nullptr};
        execve(path.c_str(), argv, envp);
        _exit(errno == EPERM ? kExitDenied : kExitOther);
    }
    return Reap(child);
}

}  // namespace hvkit::filterd::testing
