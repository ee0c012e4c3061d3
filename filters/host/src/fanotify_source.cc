// fanotify permission events in, fanotify responses out.
#include "fanotify_source.h"

#include <fcntl.h>
#include <sys/fanotify.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "fanotify_content.h"
#include "fanotify_marks.h"

namespace hvkit::filterd {

namespace {

constexpr uint64_t kPermissionEvents = FAN_OPEN_PERM | FAN_OPEN_EXEC_PERM | FAN_ACCESS_PERM;

// Reads per OnReadable call; each read takes as many events as fit.
constexpr int kReadsPerWake = 8;

}  // namespace

Result<std::unique_ptr<FanotifySource>> FanotifySource::Start(const SourceConfig& config,
                                                              SourceIndex index,
                                                              Dispatcher& dispatcher) {
    const std::string what = "hvfilterd: source '" + config.name + "'";
    if (config.kind != SourceKind::kFile || !config.file) {
        return Error(ErrorCode::kInvalidArgument,
                     what + ": is not a file source; only kind \"file\" uses fanotify");
    }
    // FAN_UNLIMITED_QUEUE: with a bounded queue the kernel drops a permission
    // event that does not fit and lets its access through, which no policy
    // could stop. Every queued permission event holds its opener asleep, so
    // the queue is bounded by the tasks waiting on it, and on_overflow
    // applies at the dispatcher's max_pending instead. O_NONBLOCK in the
    // event fds' flags: an event fd for a FIFO must not wait for a writer.
    UniqueFd group(
        fanotify_init(FAN_CLASS_CONTENT | FAN_CLOEXEC | FAN_NONBLOCK | FAN_UNLIMITED_QUEUE,
                      O_RDONLY | O_LARGEFILE | O_CLOEXEC | O_NONBLOCK));
    if (!group.valid()) {
        return Error(ErrorCode::kIo,
                     what + ": fanotify_init(FAN_CLASS_CONTENT) failed: " + std::strerror(errno) +
                         " (file sources need CAP_SYS_ADMIN and a kernel with "
                         "CONFIG_FANOTIFY_ACCESS_PERMISSIONS)");
    }
    uint64_t mask = FanotifyEventMask(config.file->events);
    for (size_t i = 0; i < config.file->paths.size(); ++i) {
        HVKIT_RETURN_IF_ERROR(AddFanotifyMark(group.get(), mask, config.file->paths[i],
                                              what + ": file.paths[" + std::to_string(i) + "]"));
    }
    auto responses = std::make_shared<FanotifyResponses>(std::move(group));
    return std::unique_ptr<FanotifySource>(
        new FanotifySource(config, index, dispatcher, std::move(responses)));
}

FanotifySource::FanotifySource(const SourceConfig& config, SourceIndex index,
                               Dispatcher& dispatcher, std::shared_ptr<FanotifyResponses> responses)
    : name_(config.name),
      index_(index),
      dispatcher_(dispatcher),
      max_content_bytes_(config.file->max_content_bytes),
      absent_allows_(config.policy.on_guest_absent == FailPolicy::kFailOpen),
      own_pid_(getpid()),
      responses_(std::move(responses)) {}

FanotifySource::~FanotifySource() {
    Shutdown();
}

Status FanotifySource::OnReadable() {
    alignas(struct fanotify_event_metadata) char buffer[8192];
    FanotifyStats& stats = responses_->stats();
    for (int reads = 0; reads < kReadsPerWake && fd() >= 0; ++reads) {
        ssize_t n = read(fd(), buffer, sizeof(buffer));
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && errno == EAGAIN) return Status::Ok();
        if (n <= 0) {
            // The kernel answers FAN_DENY itself for a permission event it
            // could not hand over (no fd left for it: EMFILE, ENFILE).
            ++stats.read_errors;
            last_problem_ = "hvfilterd: source '" + name_ + "': reading fanotify events failed: " +
                            (n < 0 ? std::strerror(errno) : "end of file");
            return Error(ErrorCode::kIo, last_problem_);
        }
        auto* event = reinterpret_cast<struct fanotify_event_metadata*>(buffer);
        for (; FAN_EVENT_OK(event, n); event = FAN_EVENT_NEXT(event, n)) {
            if (event->vers != FANOTIFY_METADATA_VERSION) {
                // Unreadable, so never inspected: as if the guest were absent.
                ++stats.unexpected_events;
                if (event->fd >= 0) ++stats.events;
                last_problem_ = "hvfilterd: source '" + name_ + "': fanotify metadata version " +
                                std::to_string(event->vers) + " is not the version " +
                                std::to_string(FANOTIFY_METADATA_VERSION) + " hvfilterd reads";
                if (event->fd >= 0) responses_->AnswerNow(event->fd, absent_allows_);
                continue;
            }
            HandleEvent(event->mask, event->fd, event->pid);
        }
    }
    return Status::Ok();
}

void FanotifySource::HandleEvent(uint64_t mask, int event_fd, pid_t pid) {
    FanotifyStats& stats = responses_->stats();
    if ((mask & FAN_Q_OVERFLOW) != 0) {
        // Not expected with FAN_UNLIMITED_QUEUE; counted if a kernel sends it.
        ++stats.overflows;
        last_problem_ = "hvfilterd: source '" + name_ + "': the fanotify queue overflowed";
    }
    if (event_fd < 0) return;
    if ((mask & kPermissionEvents) == 0) {
        ++stats.unexpected_events;
        close(event_fd);
        return;
    }
    ++stats.events;
    if (pid == own_pid_) {
        // hvfilterd's own access (a thread opened a watched file): waiting
        // for the guest here could wait on hvfilterd itself.
        ++stats.own_process;
        responses_->AnswerNow(event_fd, true);
        return;
    }
    Result<std::vector<uint8_t>> content = ReadEventContent(event_fd, max_content_bytes_);
    if (!content.ok()) {
        // Nothing the guest could inspect: as if it were absent.
        ++stats.content_errors;
        last_problem_ = "hvfilterd: source '" + name_ + "': " + content.status().message();
        responses_->AnswerNow(event_fd, absent_allows_);
        return;
    }
    uint64_t token = responses_->Hold(event_fd);
    Item item;
    item.payload = std::move(content).value();
    item.reply = [responses = responses_, token](const Verdict& verdict) {
        bool answered = responses->Answer(token, verdict.kind == VerdictKind::kPass);
        // The file's reader gets the file as it is: changed bytes cannot
        // reach it, so CHANGED refuses the original.
        if (answered && verdict.kind == VerdictKind::kChanged) {
            ++responses->stats().changed_denied;
        }
    };
    dispatcher_.Submit(index_, std::move(item));
}

void FanotifySource::Shutdown() {
    responses_->Close(absent_allows_);
}

Json FanotifySource::StatsJson() const {
    Json out = FanotifyStatsJson(stats());
    out["outstanding"] = Json(static_cast<uint64_t>(outstanding()));
    out["last_problem"] = Json(last_problem_);
    return out;
}

}  // namespace hvkit::filterd
