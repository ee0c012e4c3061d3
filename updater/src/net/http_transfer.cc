// The cpprestsdk client side of hvnet. Everything cpprestsdk throws is caught
// here and becomes a Status naming the URL.
#include "http_transfer.h"

#include <cpprest/http_client.h>

#include <cctype>
#include <cerrno>
#include <charconv>
#include <memory>

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
// been cancelled, so this returns promptly. Observes the task's exception (an
// unobserved pplx exception terminates the process).
void AwaitDiscarded(http::http_response& response) {
    try {
        response.content_ready().get();
    } catch (...) {
    }
}

// One request to (url). On a redirect, fills (redirect_to) and returns OK.
TransferResult RequestOnce(const std::string& url, const TransferRequest& request,
                           const HeadHandler& on_head, const BodyHandler& on_body,
                           std::string* redirect_to) {
    http::client::http_client_config config;
    config.set_timeout(request.idle_timeout);
    config.set_chunksize(request.read_chunk_bytes);
    config.set_max_redirects(0);  // followed here, so the body still goes to our sink

    std::unique_ptr<http::client::http_client> client;
    try {
        client = std::make_unique<http::client::http_client>(web::uri(url), config);
    } catch (const std::exception& e) {
        return Answer(Error(ErrorCode::kInvalidArgument,
                            CannotDownload(url) + ": not a valid http(s) URL (" + e.what() + ")"));
    }

    auto sink = std::make_shared<BodySinkStreambuf>(on_body);
    struct CloseOnExit {
        std::shared_ptr<BodySinkStreambuf> sink;
        ~CloseOnExit() { sink->Close(); }
    } close_on_exit{sink};

    pplx::cancellation_token_source cancel;
    http::http_response response;
    try {
        http::http_request get(http::methods::GET);
        if (!request.user_agent.empty()) get.headers().add("User-Agent", request.user_agent);
        if (request.range_from >= 0)
            get.headers().add("Range", FormatRangeFrom(request.range_from));
        get.set_response_stream(concurrency::streams::streambuf<uint8_t>(sink).create_ostream());
        response = client->request(get, cancel.get_token()).get();
    } catch (const std::exception& e) {
        return TransportFailure(url, request, e);
    }

    // From here on every early return must stop the body and observe its task.
    auto discard = [&] {
        sink->Close();
        cancel.cancel();
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

    sink->Open();
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

}  // namespace

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
