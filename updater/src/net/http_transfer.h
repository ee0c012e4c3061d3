// One HTTP GET, the only place hvnet touches cpprestsdk (http_transfer.cc).
// The caller sees the response head before any body byte is delivered, so it
// can refuse a body (wrong status, announced size over a cap) before it lands
// anywhere, and it receives the body piece by piece: nothing is buffered whole.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "hvkit/status.h"

namespace hvkit::net {

struct TransferRequest {
    std::string url;
    // When >= 0, the request carries "Range: bytes=(range_from)-".
    int64_t range_from = -1;
    std::chrono::milliseconds idle_timeout{30000};
    size_t read_chunk_bytes = 16 * 1024;
    int max_redirects = 5;
    std::string user_agent;
};

// The status line and the headers hvkit acts on.
struct ResponseHead {
    std::string url;  // the URL that answered (after redirects)
    int status = 0;
    std::string reason;
    int64_t content_length = -1;  // -1: no Content-Length
    std::optional<std::string> content_range;
};

enum class BodyDecision {
    kReceive,  // deliver the body to the BodyHandler
    kDiscard,  // drop the connection without reading the body; the transfer succeeds
};

// Decides, on the calling thread, what happens to the body of (head). An error
// stops the transfer and becomes its result.
using HeadHandler = std::function<Result<BodyDecision>(const ResponseHead& head)>;

// Receives the body in order, (size) bytes at (data) at a time, at most
// read_chunk_bytes per call, on a cpprestsdk thread (calls never overlap). An
// error stops the transfer and becomes its result.
using BodyHandler = std::function<Status(const char* data, size_t size)>;

struct TransferResult {
    Status status;
    // The network failed (connect, reset, early end, idle timeout): the same
    // request may succeed when tried again. False for answers and refusals.
    bool transport_failure = false;
};

// GETs (request.url), following redirects, and hands the final response to
// (on_head) and then, if it says so, its body to (on_body). Chunked responses
// are refused (kRefused): cpprestsdk would buffer each chunk whole before
// hvkit could apply a size cap. Never throws.
//
// When it returns, cpprestsdk holds nothing of the transfer any more: the
// request contexts it made (sockets, timers, connection pools) are destroyed
// and on_body is released, so nothing of it overlaps the caller's next step
// or the process exiting.
TransferResult RunTransfer(const TransferRequest& request, const HeadHandler& on_head,
                           const BodyHandler& on_body);

// The transfers whose state cpprestsdk still holds, in the whole process. As
// RunTransfer returns only once its own is released, this is 0 whenever no
// RunTransfer call is in progress. For tests.
int64_t TransfersHeldByHttpLibrary();

}  // namespace hvkit::net
