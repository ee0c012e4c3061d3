// RunTransfer (hvnet's internal layer over cpprestsdk) on every way a
// transfer can end, each taken many times over, because what goes wrong
// depends on how the threads interleave:
//  - a refused body must not crash: closing the connection while cpprestsdk
//    is in the middle of reading the body crashed the process (SIGSEGV in
//    asio's epoll_reactor::start_op, often within one run of this file under
//    the sanitizer build);
//  - when RunTransfer returns, cpprestsdk must hold nothing of the transfer:
//    it finishes a request on its own threads after the response is complete,
//    and that must not overlap the caller's next step or the process exiting.
#include "http_transfer.h"

#include <gtest/gtest.h>

#include <string>

#include "raw_http.h"

namespace hvkit::net {
namespace {

using testing::RawConnection;
using testing::RawHttpServer;
namespace raw = hvkit::testing;  // raw::ResponseHead writes one; net::ResponseHead is parsed

constexpr int kRounds = 25;

TransferRequest Request(const std::string& url) {
    TransferRequest request;
    request.url = url;
    request.idle_timeout = std::chrono::milliseconds(5000);
    request.read_chunk_bytes = 4096;
    return request;
}

HeadHandler Receive() {
    return [](const ResponseHead&) -> Result<BodyDecision> { return BodyDecision::kReceive; };
}

HeadHandler RefuseHead() {
    return [](const ResponseHead& head) -> Result<BodyDecision> {
        return Error(ErrorCode::kTooLarge, "refused " + std::to_string(head.content_length));
    };
}

// Counts the body bytes into (*received).
BodyHandler Count(size_t* received) {
    return [received](const char*, size_t size) {
        *received += size;
        return Status::Ok();
    };
}

// Runs (request) and checks that cpprestsdk holds nothing of it afterwards.
TransferResult RunAndExpectReleased(const TransferRequest& request, const HeadHandler& on_head,
                                    const BodyHandler& on_body) {
    TransferResult result = RunTransfer(request, on_head, on_body);
    EXPECT_EQ(TransfersHeldByHttpLibrary(), 0) << request.url;
    return result;
}

// An announced length over the caller's cap, then an endless body: the head is
// refused and the body discarded while the server is still sending.
TEST(HttpTransfer, RefusedHeadWithTheBodyStillComingLeavesNothingRunning) {
    RawHttpServer server([](RawConnection& c, int) {
        if (c.ReadRequest().empty()) return;
        c.Send(raw::ResponseHead("HTTP/1.1 200 OK", {"Content-Length: 10737418240"}));
        c.SendForever(std::string(64 * 1024, 'x'));
    });
    for (int i = 0; i < kRounds; ++i) {
        size_t received = 0;
        TransferResult result =
            RunAndExpectReleased(Request(server.Url("/huge")), RefuseHead(), Count(&received));
        EXPECT_EQ(result.status.code(), ErrorCode::kTooLarge) << result.status.message();
        EXPECT_EQ(received, 0u);
    }
}

// The server hangs up right after a head announcing a large body, so the
// connection fails while the head is being refused (or just after).
TEST(HttpTransfer, RefusedHeadOfAConnectionThatDropsLeavesNothingRunning) {
    RawHttpServer server([](RawConnection& c, int) {
        if (c.ReadRequest().empty()) return;
        c.Send(raw::ResponseHead("HTTP/1.1 200 OK", {"Content-Length: 10737418240"}) +
               std::string(3000, 'x'));
    });
    for (int i = 0; i < kRounds; ++i) {
        size_t received = 0;
        TransferResult result =
            RunAndExpectReleased(Request(server.Url("/drop")), RefuseHead(), Count(&received));
        EXPECT_EQ(result.status.code(), ErrorCode::kTooLarge) << result.status.message();
        EXPECT_EQ(received, 0u);
    }
}

// The same dropped connection, with the body accepted: a transport failure.
TEST(HttpTransfer, BodyCutShortLeavesNothingRunning) {
    RawHttpServer server([](RawConnection& c, int) {
        if (c.ReadRequest().empty()) return;
        c.Send(raw::ResponseHead("HTTP/1.1 200 OK", {"Content-Length: 10737418240"}) +
               std::string(3000, 'x'));
    });
    for (int i = 0; i < kRounds; ++i) {
        size_t received = 0;
        TransferResult result =
            RunAndExpectReleased(Request(server.Url("/drop")), Receive(), Count(&received));
        EXPECT_FALSE(result.status.ok());
        EXPECT_TRUE(result.transport_failure) << result.status.message();
    }
}

// The body handler refuses a piece of an endless body.
TEST(HttpTransfer, BodyRefusedByTheHandlerLeavesNothingRunning) {
    RawHttpServer server([](RawConnection& c, int) {
        if (c.ReadRequest().empty()) return;
        c.Send(raw::ResponseHead("HTTP/1.1 200 OK", {"Connection: close"}));
        c.SendForever(std::string(64 * 1024, 'x'));
    });
    for (int i = 0; i < kRounds; ++i) {
        size_t received = 0;
        BodyHandler refuse_after_64k = [&received](const char*, size_t size) -> Status {
            received += size;
            if (received > 64 * 1024) return Error(ErrorCode::kTooLarge, "enough");
            return Status::Ok();
        };
        TransferResult result =
            RunAndExpectReleased(Request(server.Url("/endless")), Receive(), refuse_after_64k);
        EXPECT_EQ(result.status.code(), ErrorCode::kTooLarge) << result.status.message();
        EXPECT_FALSE(result.transport_failure);
    }
}

// Complete answers: a body received whole, a body the head handler discards,
// an error status with a body, a redirect followed, a chunked answer refused.
TEST(HttpTransfer, CompleteAnswersLeaveNothingRunning) {
    const std::string body(10000, 'b');
    RawHttpServer server([&body](RawConnection& c, int) {
        std::string request = c.ReadRequest();
        if (request.empty()) return;
        if (request.rfind("GET /old ", 0) == 0) {
            c.Send(
                raw::ResponseHead("HTTP/1.1 302 Found", {"Location: /body", "Content-Length: 0"}));
        } else if (request.rfind("GET /missing ", 0) == 0) {
            c.Send(raw::ResponseHead("HTTP/1.1 404 Not Found", {"Content-Length: 9"}) +
                   "not found");
        } else if (request.rfind("GET /chunked ", 0) == 0) {
            c.Send(raw::ResponseHead("HTTP/1.1 200 OK", {"Transfer-Encoding: chunked"}) +
                   "5\r\nhello\r\n0\r\n\r\n");
        } else {
            c.Send(raw::ResponseHead("HTTP/1.1 200 OK",
                                     {"Content-Length: " + std::to_string(body.size())}) +
                   body);
        }
    });
    HeadHandler discard = [](const ResponseHead&) -> Result<BodyDecision> {
        return BodyDecision::kDiscard;
    };
    for (int i = 0; i < kRounds; ++i) {
        size_t received = 0;
        TransferResult whole =
            RunAndExpectReleased(Request(server.Url("/body")), Receive(), Count(&received));
        EXPECT_TRUE(whole.status.ok()) << whole.status.message();
        EXPECT_EQ(received, body.size());

        received = 0;
        TransferResult redirected =
            RunAndExpectReleased(Request(server.Url("/old")), Receive(), Count(&received));
        EXPECT_TRUE(redirected.status.ok()) << redirected.status.message();
        EXPECT_EQ(received, body.size());

        TransferResult discarded =
            RunAndExpectReleased(Request(server.Url("/body")), discard, Count(&received));
        EXPECT_TRUE(discarded.status.ok()) << discarded.status.message();

        TransferResult missing =
            RunAndExpectReleased(Request(server.Url("/missing")), discard, Count(&received));
        EXPECT_TRUE(missing.status.ok()) << missing.status.message();

        TransferResult chunked =
            RunAndExpectReleased(Request(server.Url("/chunked")), Receive(), Count(&received));
        EXPECT_EQ(chunked.status.code(), ErrorCode::kRefused) << chunked.status.message();
    }
}

// No connection at all.
TEST(HttpTransfer, RefusedConnectionLeavesNothingRunning) {
    uint16_t port;
    {
        RawHttpServer closed([](RawConnection&, int) {});
        port = closed.port();
    }
    for (int i = 0; i < kRounds; ++i) {
        size_t received = 0;
        TransferResult result =
            RunAndExpectReleased(Request("http://127.0.0.1:" + std::to_string(port) + "/x"),
                                 Receive(), Count(&received));
        EXPECT_TRUE(result.transport_failure) << result.status.message();
    }
}

}  // namespace
}  // namespace hvkit::net
