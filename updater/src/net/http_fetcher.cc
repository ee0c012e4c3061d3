// HttpFetcher: the Fetcher interface over RunTransfer, with hvkit's download
// rules: a hard size cap, retries after transport failures, and resumable
// file downloads. docs/http.md describes the behaviour for users.
#include "hvkit/net/http_fetcher.h"

#include <algorithm>
#include <thread>

#include "http_transfer.h"
#include "monotonic_progress.h"
#include "partial_file.h"
#include "response_plan.h"

namespace hvkit {

namespace {

using net::BodyDecision;
using net::ResponseHead;
using net::ResumePlan;
using net::TransferResult;

Status CheckOptions(const std::string& url, const FetchOptions& options) {
    if (options.max_bytes <= 0) {
        return Error(ErrorCode::kInvalidArgument,
                     "cannot download " + url + ": FetchOptions.max_bytes must be set (> 0)");
    }
    if (options.idle_timeout.count() <= 0) {
        return Error(ErrorCode::kInvalidArgument,
                     "cannot download " + url + ": FetchOptions.idle_timeout must be positive");
    }
    return Status::Ok();
}

Status AnnouncedTooLarge(const std::string& url, int64_t size, int64_t limit) {
    return Error(ErrorCode::kTooLarge,
                 "cannot download " + url + ": the server announced " + std::to_string(size) +
                     " bytes, more than the limit of " + std::to_string(limit));
}

Status ReceivedTooLarge(const std::string& url, int64_t limit) {
    return Error(ErrorCode::kTooLarge, "cannot download " + url +
                                           ": the body exceeds the limit of " +
                                           std::to_string(limit) + " bytes");
}

Status GaveUp(const Status& last, int attempts) {
    if (attempts <= 1) return last;
    return Error(last.code(),
                 last.message() + " (gave up after " + std::to_string(attempts) + " attempts)");
}

class HttpFetcher final : public Fetcher {
  public:
    explicit HttpFetcher(HttpFetcherConfig config) : config_(std::move(config)) {}

    Result<std::string> Fetch(const std::string& url, const FetchOptions& options) override;
    Status FetchToFile(const std::string& url, const std::string& path,
                       const FetchOptions& options) override;

  private:
    net::TransferRequest MakeRequest(const std::string& url, const FetchOptions& options,
                                     int64_t range_from) const {
        net::TransferRequest request;
        request.url = url;
        request.range_from = range_from;
        request.idle_timeout = options.idle_timeout;
        request.read_chunk_bytes = std::max<size_t>(config_.read_chunk_bytes, 512);
        request.max_redirects = config_.max_redirects;
        request.user_agent = config_.user_agent;
        return request;
    }

    // Sleeps before reconnection number (failures + 1).
    void Backoff(int failures) const {
        auto pause = config_.retry_backoff * (1 << std::min(failures, 10));
        std::this_thread::sleep_for(
            std::min<std::chrono::milliseconds>(pause, std::chrono::seconds(5)));
    }

    HttpFetcherConfig config_;
};

Result<std::string> HttpFetcher::Fetch(const std::string& url, const FetchOptions& options) {
    HVKIT_RETURN_IF_ERROR(CheckOptions(url, options));
    net::MonotonicProgress progress(options.progress, url);
    std::string body;
    int64_t total = -1;

    auto on_head = [&](const ResponseHead& head) -> Result<BodyDecision> {
        if (head.status != 200) return net::UnexpectedAnswer(head);
        if (head.content_length > options.max_bytes) {
            return AnnouncedTooLarge(url, head.content_length, options.max_bytes);
        }
        total = head.content_length;
        HVKIT_RETURN_IF_ERROR(progress.Report(0, total));
        return BodyDecision::kReceive;
    };
    auto on_body = [&](const char* data, size_t size) -> Status {
        if (static_cast<int64_t>(body.size() + size) > options.max_bytes) {
            return ReceivedTooLarge(url, options.max_bytes);
        }
        body.append(data, size);
        return progress.Report(static_cast<int64_t>(body.size()), total);
    };

    for (int failures = 0;; ++failures) {
        body.clear();
        total = -1;
        TransferResult result = net::RunTransfer(MakeRequest(url, options, -1), on_head, on_body);
        if (result.status.ok()) break;
        if (!result.transport_failure || failures >= options.retries) {
            return GaveUp(result.status, failures + 1);
        }
        Backoff(failures);
    }
    int64_t size = static_cast<int64_t>(body.size());
    HVKIT_RETURN_IF_ERROR(progress.Report(size, size));
    return body;
}

Status HttpFetcher::FetchToFile(const std::string& url, const std::string& path,
                                const FetchOptions& options) {
    HVKIT_RETURN_IF_ERROR(CheckOptions(url, options));
    HVKIT_ASSIGN_OR_RETURN(net::PartialFile file, net::PartialFile::Open(path));
    if (file.size() > options.max_bytes) {
        return Error(ErrorCode::kTooLarge, "cannot download " + url + ": " + path +
                                               " already holds " + std::to_string(file.size()) +
                                               " bytes, more than the limit of " +
                                               std::to_string(options.max_bytes));
    }
    net::MonotonicProgress progress(options.progress, url);
    int64_t total = -1;
    int64_t have = 0;
    ResumePlan plan;

    auto on_head = [&](const ResponseHead& head) -> Result<BodyDecision> {
        plan = net::PlanResume(head, have);
        switch (plan.action) {
            case ResumePlan::Action::kFail:
                return plan.error;
            case ResumePlan::Action::kComplete:
                total = plan.total;
                return BodyDecision::kDiscard;
            case ResumePlan::Action::kDiscardAndRetry:
                HVKIT_RETURN_IF_ERROR(file.Truncate());
                return BodyDecision::kDiscard;
            case ResumePlan::Action::kRestart:
            case ResumePlan::Action::kAppend:
                break;
        }
        // Check the cap before touching the file: a refused answer must not
        // cost the partial download.
        const bool restart = plan.action == ResumePlan::Action::kRestart;
        int64_t announced = plan.total;
        if (announced < 0 && head.content_length >= 0) {
            announced = (restart ? 0 : file.size()) + head.content_length;
        }
        if (announced > options.max_bytes) {
            return AnnouncedTooLarge(url, announced, options.max_bytes);
        }
        if (restart) HVKIT_RETURN_IF_ERROR(file.Truncate());
        total = plan.total;
        HVKIT_RETURN_IF_ERROR(progress.Report(file.size(), total));
        return BodyDecision::kReceive;
    };
    auto on_body = [&](const char* data, size_t size) -> Status {
        if (file.size() + static_cast<int64_t>(size) > options.max_bytes) {
            return ReceivedTooLarge(url, options.max_bytes);
        }
        HVKIT_RETURN_IF_ERROR(file.Append(data, size));
        return progress.Report(file.size(), total);
    };

    int failures = 0;
    for (;;) {
        have = file.size();
        TransferResult result =
            net::RunTransfer(MakeRequest(url, options, have > 0 ? have : -1), on_head, on_body);
        if (!result.status.ok()) {
            // The bytes received so far stay on disk; the next attempt (or a
            // later call) resumes after them.
            if (!result.transport_failure || failures >= options.retries) {
                file.RemoveIfCreatedEmpty();
                return GaveUp(result.status, failures + 1);
            }
            Backoff(failures++);
            continue;
        }
        if (plan.action == ResumePlan::Action::kDiscardAndRetry) continue;  // now from zero
        if (plan.action == ResumePlan::Action::kComplete || total < 0 || file.size() >= total)
            break;
        // A 206 that stopped short of the end: ask for the rest.
        if (file.size() == have) {
            return Error(ErrorCode::kNetwork,
                         "cannot download " + url + ": the server sent no bytes from offset " +
                             std::to_string(have) + " of " + std::to_string(total));
        }
    }
    if (total >= 0 && file.size() != total) {
        return Error(ErrorCode::kNetwork, "cannot download " + url + ": " + path + " holds " +
                                              std::to_string(file.size()) +
                                              " bytes, the server announced " +
                                              std::to_string(total));
    }
    HVKIT_RETURN_IF_ERROR(file.Sync());
    return progress.Report(file.size(), file.size());
}

}  // namespace

std::unique_ptr<Fetcher> MakeHttpFetcher(const HttpFetcherConfig& config) {
    return std::make_unique<HttpFetcher>(config);
}

std::unique_ptr<Fetcher> MakeHttpFetcher() {
    return MakeHttpFetcher(HttpFetcherConfig{});
}

}  // namespace hvkit
