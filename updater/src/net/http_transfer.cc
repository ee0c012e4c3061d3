// The cpprestsdk client side of hvnet. Everything cpprestsdk throws is caught
// here and becomes a Status naming the URL.
#include "http_transfer.h"

#include <cpprest/http_client.h>

#include <cctype>
#include <cerrno>
#include <charconv>
#include <condition_variable>
#include <future>
#include <memory>
#include <mutex>
#include <thread>

#include "body_sink_streambuf.h"
#include "hvkit/net/byte_range.h"

namespace hvkit::net {

namespace {

namespace http = web::http;

std::string CannotDownload(const std::string& url) {
    return "cannot download " + url;
}

TransferResult Answer(Status status) {
    return {std::move(status), false};
}

// A failure of the connection itself (as opposed to an answer we refused).
TransferResult TransportFailure(const std::string& url, const TransferRequest& request,
                                const std::exception& e) {
    const auto* http_error = dynamic_cast<const http::http_exception*>(&e);
    if (http_error != nullptr && http_error->error_code().value() == ETIMEDOUT) {
        return {Error(ErrorCode::kNetwork, CannotDownload(url) + ": no data for " +
                                               std::to_string(request.idle_timeout.count()) +
                                               " ms (idle timeout)"),
                true};
    }
    return {Error(ErrorCode::kNetwork, CannotDownload(url) + ": " + e.what()), true};
}

std::optional<std::string> Header(const http::http_headers& headers, const char* name) {
    auto it = headers.find(name);
    if (it == headers.end()) return std::nullopt;
    return it->second;
}

bool IsRedirect(int status) {
    return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

bool ContainsChunked(std::string value) {
    for (char& c : value) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return value.find("chunked") != std::string::npos;
}

// Waits for the end of a body that is being thrown away; the connection has
// been closed, so this returns promptly. Observes the task's exception (an
// unobserved pplx exception terminates the process).
void AwaitDiscarded(http::http_response& response) {
    try {
        response.content_ready().get();
    } catch (...) {
    }
}

// Holds cpprestsdk's thread at the response head until the calling thread has
// decided about the body.
//
// Why: throwing a body away means closing the connection (cancelling the
// request makes cpprestsdk close its socket on the cancelling thread), and an
// asio socket must not be closed while another thread is inside a read on it.
// cpprestsdk starts reading the body on its own thread as soon as it has
// parsed the head, in steps that each start the next socket read without its
// socket lock, so a close from the calling thread at that moment frees the
// socket's reactor state under the next step: SIGSEGV in
// epoll_reactor::start_op (found with the sanitizer build; cpprestsdk issue
// 1547). Held at the head, that thread has no read in flight, and a read it
// starts after the close fails cleanly (bad descriptor).
//
// How: the request's head task is completed on cpprestsdk's thread, and a
// continuation forced inline runs right there, before the body read starts;
// it waits until Decide(). So that the continuation is attached before the
// head can arrive, cpprestsdk's per-request setup hook (set_nativehandle_
// options, called on its thread before it connects) waits until Arm().
class HeadHold {
  public:
    HeadHold() : caller_(std::this_thread::get_id()) {}

    // Lets the request go out (the continuation is in place).
    void Arm() { Set(&armed_); }
    // Lets cpprestsdk's thread go on to the body (or to the closed socket).
    void Decide() { Set(&decided_); }

    // Called by cpprestsdk before it connects.
    void AwaitArmed() { Await(&armed_); }
    // Called inline where cpprestsdk completes the head.
    void AwaitDecided() { Await(&decided_); }

  private:
    void Set(bool* flag) {
        {
            std::lock_guard<std::mutex> lock(mu_);
            *flag = true;
        }
        cv_.notify_all();
    }
    void Await(const bool* flag) {
        // Never hold the calling thread: it is the one that sets the flags.
        if (std::this_thread::get_id() == caller_) return;
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait(lock, [&] { return *flag; });
    }

    const std::thread::id caller_;
    std::mutex mu_;
    std::condition_variable cv_;
    bool armed_ = false;
    bool decided_ = false;
};

// The exchange of RequestOnce: sends the GET through (client), whose setup
// hook waits on (hold), with (sink) as the response stream, hands the head to
// (on_head) and, if it says so, lets the body through to the sink. On a
// redirect, fills (redirect_to) and returns OK. When this returns, the body is
// complete or stopped (the sink is closed, the connection closed, the body
// task observed), but cpprestsdk may still be finishing the request on one of
// its threads: see RequestOnce.
TransferResult Exchange(http::client::http_client& client, const std::string& url,
                        const TransferRequest& request, const HeadHandler& on_head,
                        const std::shared_ptr<HeadHold>& hold,
                        std::shared_ptr<BodySinkStreambuf> sink, std::string* redirect_to) {
    struct CloseOnExit {
        std::shared_ptr<BodySinkStreambuf> sink;
        ~CloseOnExit() { sink->Close(); }
    } close_on_exit{sink};
    // Whatever way this returns, cpprestsdk's thread is let go; on the early
    // returns below only after the connection is closed.
    struct ReleaseOnExit {
        std::shared_ptr<HeadHold> hold;
        ~ReleaseOnExit() {
            hold->Arm();
            hold->Decide();
        }
    } release_on_exit{hold};

    pplx::cancellation_token_source cancel;
    http::http_response response;
    try {
        http::http_request get(http::methods::GET);
        if (!request.user_agent.empty()) get.headers().add("User-Agent", request.user_agent);
        if (request.range_from >= 0)
            get.headers().add("Range", FormatRangeFrom(request.range_from));
        get.set_response_stream(concurrency::streams::streambuf<uint8_t>(sink).create_ostream());
        pplx::task<http::http_response> head_task = client.request(get, cancel.get_token());
        // _Then is pplx's inline continuation (a plain then() is always
        // scheduled on the pool, too late to hold anything).
        head_task._Then([hold](pplx::task<http::http_response>) { hold->AwaitDecided(); }, nullptr);
        hold->Arm();
        response = head_task.get();
    } catch (const std::exception& e) {
        return TransportFailure(url, request, e);
    }

    // From here on every early return must stop the body and observe its task.
    // cpprestsdk's thread is still held at the head, so closing the connection
    // here (cancel) races with no read.
    auto discard = [&] {
        sink->Close();
        cancel.cancel();
        hold->Decide();
        AwaitDiscarded(response);
    };

    ResponseHead head;
    try {
        head.url = url;
        head.status = response.status_code();
        head.reason = response.reason_phrase();
        const auto& headers = response.headers();
        if (IsRedirect(head.status)) {
            if (auto location = Header(headers, "Location")) {
                *redirect_to = web::uri(url).resolve_uri(*location);
                discard();
                return Answer(Status::Ok());
            }
        }
        // Only a body hvkit would keep must have a cappable length; an error
        // answer (a chunked 404 from a plain web server) still maps to its status.
        bool success = head.status >= 200 && head.status < 300;
        if (auto encoding = Header(headers, "Transfer-Encoding");
            success && encoding && ContainsChunked(*encoding)) {
            discard();
            return Answer(Error(ErrorCode::kRefused,
                                CannotDownload(url) +
                                    ": the server sent a chunked response; hvkit accepts only "
                                    "bodies with a Content-Length or ended by closing the "
                                    "connection, so that a size cap holds"));
        }
        if (auto length = Header(headers, "Content-Length")) {
            int64_t value = -1;
            auto [end, ec] =
                std::from_chars(length->data(), length->data() + length->size(), value);
            if (ec != std::errc() || end != length->data() + length->size() || value < 0) {
                discard();
                return Answer(
                    Error(ErrorCode::kMalformed,
                          CannotDownload(url) + ": invalid Content-Length '" + *length + "'"));
            }
            head.content_length = value;
        }
        head.content_range = Header(headers, "Content-Range");
    } catch (const std::exception& e) {
        discard();
        return Answer(Error(ErrorCode::kMalformed, CannotDownload(url) + ": " + e.what()));
    }

    Result<BodyDecision> decision = on_head(head);
    if (!decision.ok()) {
        discard();
        return Answer(decision.status());
    }
    if (*decision == BodyDecision::kDiscard) {
        discard();
        return Answer(Status::Ok());
    }

    // The body is wanted: from here on nothing but cpprestsdk touches the
    // connection; a refusal comes from the sink, on cpprestsdk's thread.
    sink->Open();
    hold->Decide();
    try {
        response.content_ready().get();
    } catch (const std::exception& e) {
        sink->Close();
        Status refused = sink->failure();
        if (!refused.ok()) return Answer(refused);
        return TransportFailure(url, request, e);
    }
    sink->Close();
    Status refused = sink->failure();
    return Answer(refused);
}

// One request to (url). On a redirect, fills (redirect_to) and returns OK.
//
// Invariant: when this returns, cpprestsdk holds nothing of the request. The
// response being complete is not enough: completing it wakes Exchange, and
// only then does cpprestsdk, on one of its threads, deregister the
// cancellation callback, run the continuations still queued for the body and
// destroy its request context (idle timer, socket) and with it the client's
// connection pool (another timer): the context keeps those alive, so
// destroying (client) here does not end them. Left running, that tail
// overlaps whatever the caller does next, up to the process exiting, and
// cpprestsdk tears its thread pool down at exit under whatever still runs on
// it, which can crash or hang the process.
// Every object of the request holds the sink (the request and the response
// through their streams, pending continuations through shared_from_this), so
// the sink's destruction marks the end of the tail: wait for it, then destroy
// the client, and its pool, on this thread.
TransferResult RequestOnce(const std::string& url, const TransferRequest& request,
                           const HeadHandler& on_head, const BodyHandler& on_body,
                           std::string* redirect_to) {
    http::client::http_client_config config;
    config.set_timeout(request.idle_timeout);
    config.set_chunksize(request.read_chunk_bytes);
    config.set_max_redirects(0);  // followed here, so the body still goes to our sink

    auto hold = std::make_shared<HeadHold>();
    config.set_nativehandle_options([hold](http::client::native_handle) { hold->AwaitArmed(); });

    std::unique_ptr<http::client::http_client> client;
    try {
        client = std::make_unique<http::client::http_client>(web::uri(url), config);
    } catch (const std::exception& e) {
        return Answer(Error(ErrorCode::kInvalidArgument,
                            CannotDownload(url) + ": not a valid http(s) URL (" + e.what() + ")"));
    }

    std::future<void> sink_destroyed;
    TransferResult result =
        Exchange(*client, url, request, on_head, hold,
                 BodySinkStreambuf::Make(on_body, &sink_destroyed), redirect_to);
    // Exchange has closed the sink (the handler is never called again) and
    // dropped its references, so only cpprestsdk's tail still holds the sink,
    // and the tail is short: the response is already complete.
    sink_destroyed.wait();
    return result;
}

}  // namespace

int64_t TransfersHeldByHttpLibrary() {
    return BodySinkStreambuf::alive();
}

TransferResult RunTransfer(const TransferRequest& request, const HeadHandler& on_head,
                           const BodyHandler& on_body) {
    std::string url = request.url;
    for (int hop = 0;; ++hop) {
        std::string redirect_to;
        TransferResult result = RequestOnce(url, request, on_head, on_body, &redirect_to);
        if (!result.status.ok() || redirect_to.empty()) return result;
        if (hop >= request.max_redirects) {
            return Answer(Error(ErrorCode::kNetwork, CannotDownload(request.url) + ": more than " +
                                                         std::to_string(request.max_redirects) +
                                                         " redirects"));
        }
        if (url.rfind("https:", 0) == 0 && redirect_to.rfind("https:", 0) != 0) {
            return Answer(Error(ErrorCode::kRefused, CannotDownload(request.url) +
                                                         ": refusing a redirect from https to " +
                                                         redirect_to));
        }
        url = redirect_to;
    }
}

}  // namespace hvkit::net
