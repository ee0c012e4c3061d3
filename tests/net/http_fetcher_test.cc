// HttpFetcher against scripted raw-socket servers that misbehave on purpose.
// No assertion is about elapsed time: timeouts are short so the tests are
// quick, but only the outcome is checked.
#include "hvkit/net/http_fetcher.h"

#include <gtest/gtest.h>

#include <mutex>
#include <utility>
#include <vector>

#include "hvkit/fs.h"
#include "raw_http.h"
#include "temp_dir.h"

namespace hvkit {
namespace {

using testing::HeaderValue;
using testing::RandomBytes;
using testing::RawConnection;
using testing::RawHttpServer;
using testing::ReadTestFile;
using testing::ResponseHead;
using testing::TempDir;
using testing::WriteTestFile;

constexpr size_t kChunk = 4096;

std::unique_ptr<Fetcher> TestFetcher() {
    HttpFetcherConfig config;
    config.read_chunk_bytes = kChunk;
    config.retry_backoff = std::chrono::milliseconds(10);
    return MakeHttpFetcher(config);
}

FetchOptions Options(int64_t max_bytes) {
    FetchOptions options;
    options.max_bytes = max_bytes;
    options.idle_timeout = std::chrono::milliseconds(5000);
    options.retries = 0;
    return options;
}

// Records progress calls; they arrive on another thread.
struct ProgressLog {
    std::mutex mu;
    std::vector<std::pair<int64_t, int64_t>> calls;

    ProgressCallback Callback() {
        return [this](int64_t done, int64_t total) {
            std::lock_guard<std::mutex> lock(mu);
            calls.emplace_back(done, total);
        };
    }
    void ExpectMonotonicEndingAt(int64_t size) {
        std::lock_guard<std::mutex> lock(mu);
        ASSERT_FALSE(calls.empty());
        for (size_t i = 1; i < calls.size(); ++i) {
            EXPECT_GE(calls[i].first, calls[i - 1].first) << "call " << i;
        }
        EXPECT_EQ(calls.back(), std::make_pair(size, size));
    }
    int64_t MaxDone() {
        std::lock_guard<std::mutex> lock(mu);
        int64_t max = 0;
        for (auto& c : calls) max = std::max(max, c.first);
        return max;
    }
};

// A script that answers every request with (status_line), (body) and a Content-Length.
RawHttpServer::Script Answer(std::string status_line, std::string body,
                             std::vector<std::string> headers = {}) {
    return [=](RawConnection& c, int) {
        if (c.ReadRequest().empty()) return;
        auto all = headers;
        all.push_back("Content-Length: " + std::to_string(body.size()));
        all.push_back("Connection: close");
        c.Send(ResponseHead(status_line, all) + body);
    };
}

TEST(HttpFetcher, FetchReturnsTheBodyAndReportsMonotonicProgress) {
    std::string content = RandomBytes(100 * 1024 + 17, 1);
    RawHttpServer server(Answer("HTTP/1.1 200 OK", content));
    ProgressLog progress;
    FetchOptions options = Options(1 << 20);
    options.progress = progress.Callback();

    auto body = TestFetcher()->Fetch(server.Url("/file.bin"), options);
    ASSERT_TRUE(body.ok()) << body.status().message();
    EXPECT_EQ(*body, content);
    progress.ExpectMonotonicEndingAt(static_cast<int64_t>(content.size()));
    EXPECT_NE(HeaderValue(server.requests().at(0), "User-Agent").find("hvkit"), std::string::npos);
}

TEST(HttpFetcher, EndlessBodyWithoutLengthStopsAtTheCap) {
    RawHttpServer server([](RawConnection& c, int) {
        if (c.ReadRequest().empty()) return;
        c.Send(ResponseHead("HTTP/1.1 200 OK", {"Connection: close"}));
        c.SendForever(std::string(64 * 1024, 'x'));  // ends when the client hangs up
    });
    const int64_t cap = 1 << 20;
    ProgressLog progress;
    FetchOptions options = Options(cap);
    options.progress = progress.Callback();

    auto body = TestFetcher()->Fetch(server.Url("/endless"), options);
    ASSERT_FALSE(body.ok());
    EXPECT_EQ(body.status().code(), ErrorCode::kTooLarge);
    EXPECT_NE(body.status().message().find(server.Url("/endless")), std::string::npos);
    EXPECT_LE(progress.MaxDone(), cap);

    TempDir dir;
    Status st = TestFetcher()->FetchToFile(server.Url("/endless"), dir.Sub("out"), Options(cap));
    EXPECT_EQ(st.code(), ErrorCode::kTooLarge) << st.message();
    EXPECT_LE(static_cast<int64_t>(ReadTestFile(dir.Sub("out")).size()), cap);
}

TEST(HttpFetcher, DeclaredLengthOverTheCapIsRefusedBeforeTheBody) {
    RawHttpServer server([](RawConnection& c, int) {
        if (c.ReadRequest().empty()) return;
        c.Send(ResponseHead("HTTP/1.1 200 OK", {"Content-Length: 10737418240"}));
        c.SendForever(std::string(64 * 1024, 'x'));
    });
    ProgressLog progress;
    FetchOptions options = Options(1 << 20);
    options.progress = progress.Callback();

    auto body = TestFetcher()->Fetch(server.Url("/huge"), options);
    ASSERT_FALSE(body.ok());
    EXPECT_EQ(body.status().code(), ErrorCode::kTooLarge);
    EXPECT_NE(body.status().message().find("announced 10737418240 bytes"), std::string::npos)
        << body.status().message();
    EXPECT_EQ(progress.MaxDone(), 0);

    TempDir dir;
    Status st = TestFetcher()->FetchToFile(server.Url("/huge"), dir.Sub("out"), Options(1 << 20));
    EXPECT_EQ(st.code(), ErrorCode::kTooLarge) << st.message();
    EXPECT_FALSE(PathExists(dir.Sub("out"))) << "nothing was received, so no file is left";
}

TEST(HttpFetcher, IdleServerTimesOutBeforeHeaders) {
    RawHttpServer server([](RawConnection& c, int) {
        if (c.ReadRequest().empty()) return;
        c.Stall();
    });
    FetchOptions options = Options(1 << 20);
    options.idle_timeout = std::chrono::milliseconds(300);

    auto body = TestFetcher()->Fetch(server.Url("/stall"), options);
    ASSERT_FALSE(body.ok());
    EXPECT_EQ(body.status().code(), ErrorCode::kNetwork);
    EXPECT_NE(body.status().message().find(server.Url("/stall")), std::string::npos);
    EXPECT_NE(body.status().message().find("idle timeout"), std::string::npos)
        << body.status().message();
}

TEST(HttpFetcher, IdleServerTimesOutInTheMiddleOfTheBody) {
    RawHttpServer server([](RawConnection& c, int) {
        if (c.ReadRequest().empty()) return;
        c.Send(ResponseHead("HTTP/1.1 200 OK", {"Content-Length: 100000"}));
        c.Send(std::string(3 * kChunk + 100, 'y'));
        c.Stall();
    });
    FetchOptions options = Options(1 << 20);
    options.idle_timeout = std::chrono::milliseconds(300);
    TempDir dir;

    Status st = TestFetcher()->FetchToFile(server.Url("/slow"), dir.Sub("out"), options);
    EXPECT_EQ(st.code(), ErrorCode::kNetwork);
    EXPECT_NE(st.message().find("idle timeout"), std::string::npos) << st.message();
    // Whole read steps reached the disk and stay there for a later resume.
    EXPECT_EQ(ReadTestFile(dir.Sub("out")), std::string(3 * kChunk, 'y'));
}

TEST(HttpFetcher, StatusCodesMapToErrorCodes) {
    for (auto [line, code] : {std::pair{"HTTP/1.1 404 Not Found", ErrorCode::kNotFound},
                              std::pair{"HTTP/1.1 403 Forbidden", ErrorCode::kNotFound},
                              std::pair{"HTTP/1.1 410 Gone", ErrorCode::kNotFound},
                              std::pair{"HTTP/1.1 500 Internal Server Error", ErrorCode::kNetwork},
                              std::pair{"HTTP/1.1 204 No Content", ErrorCode::kNetwork}}) {
        RawHttpServer server(Answer(line, "nope"));
        auto body = TestFetcher()->Fetch(server.Url("/x.json"), Options(1024));
        ASSERT_FALSE(body.ok()) << line;
        EXPECT_EQ(body.status().code(), code) << line;
        EXPECT_NE(body.status().message().find(server.Url("/x.json")), std::string::npos);
        EXPECT_NE(body.status().message().find(std::string(line).substr(9, 3)), std::string::npos)
            << body.status().message();

        TempDir dir;
        Status st =
            TestFetcher()->FetchToFile(server.Url("/x.json"), dir.Sub("out"), Options(1024));
        EXPECT_EQ(st.code(), code) << line;
        EXPECT_FALSE(PathExists(dir.Sub("out"))) << "an error page must not land in a file";
    }
}

TEST(HttpFetcher, ResumesWithRangeAfterADroppedConnection) {
    const std::string content = RandomBytes(300 * 1024 + 5, 2);
    const size_t dropped_at = 40 * kChunk;  // whole read steps, so all of it reaches the disk
    RawHttpServer server([&](RawConnection& c, int index) {
        std::string request = c.ReadRequest();
        if (request.empty()) return;
        if (index == 0) {
            c.Send(ResponseHead("HTTP/1.1 200 OK",
                                {"Content-Length: " + std::to_string(content.size())}));
            c.Send(content.substr(0, dropped_at));
            return;  // drop the connection
        }
        std::string range = HeaderValue(request, "Range");
        int64_t from = range.rfind("bytes=", 0) == 0 ? std::stoll(range.substr(6)) : 0;
        std::string rest = content.substr(static_cast<size_t>(from));
        c.Send(ResponseHead("HTTP/1.1 206 Partial Content",
                            {"Content-Length: " + std::to_string(rest.size()),
                             "Content-Range: bytes " + std::to_string(from) + "-" +
                                 std::to_string(content.size() - 1) + "/" +
                                 std::to_string(content.size())}) +
               rest);
    });
    TempDir dir;
    ProgressLog progress;
    FetchOptions options = Options(1 << 20);
    options.retries = 2;
    options.progress = progress.Callback();

    Status st = TestFetcher()->FetchToFile(server.Url("/pkg.hvpkg"), dir.Sub("pkg"), options);
    ASSERT_TRUE(st.ok()) << st.message();
    EXPECT_EQ(ReadTestFile(dir.Sub("pkg")), content);
    auto requests = server.requests();
    ASSERT_EQ(requests.size(), 2u);
    EXPECT_EQ(HeaderValue(requests[0], "Range"), "");
    EXPECT_EQ(HeaderValue(requests[1], "Range"), "bytes=" + std::to_string(dropped_at) + "-");
    progress.ExpectMonotonicEndingAt(static_cast<int64_t>(content.size()));
}

TEST(HttpFetcher, ContinuesAPartialFileFromAnEarlierRun) {
    const std::string content = RandomBytes(50000, 3);
    RawHttpServer server([&](RawConnection& c, int) {
        std::string request = c.ReadRequest();
        if (request.empty()) return;
        EXPECT_EQ(HeaderValue(request, "Range"), "bytes=1000-");
        std::string rest = content.substr(1000);
        c.Send(ResponseHead("HTTP/1.1 206 Partial Content",
                            {"Content-Length: " + std::to_string(rest.size()),
                             "Content-Range: bytes 1000-49999/50000"}) +
               rest);
    });
    TempDir dir;
    WriteTestFile(dir.Sub("pkg"), content.substr(0, 1000));

    Status st = TestFetcher()->FetchToFile(server.Url("/pkg"), dir.Sub("pkg"), Options(1 << 20));
    ASSERT_TRUE(st.ok()) << st.message();
    EXPECT_EQ(ReadTestFile(dir.Sub("pkg")), content);
    EXPECT_EQ(server.connections(), 1);
}

TEST(HttpFetcher, ServerIgnoringRangeRestartsTheFile) {
    const std::string content = RandomBytes(70000, 4);
    RawHttpServer server(Answer("HTTP/1.1 200 OK", content));
    TempDir dir;
    WriteTestFile(dir.Sub("pkg"), std::string(5000, '?'));  // a prefix that is not even right
    ProgressLog progress;
    FetchOptions options = Options(1 << 20);
    options.progress = progress.Callback();

    Status st = TestFetcher()->FetchToFile(server.Url("/pkg"), dir.Sub("pkg"), options);
    ASSERT_TRUE(st.ok()) << st.message();
    EXPECT_EQ(ReadTestFile(dir.Sub("pkg")), content);
    EXPECT_EQ(HeaderValue(server.requests().at(0), "Range"), "bytes=5000-");
    progress.ExpectMonotonicEndingAt(static_cast<int64_t>(content.size()));
}

TEST(HttpFetcher, RangeNotSatisfiableAtTheFullSizeMeansComplete) {
    const std::string content = RandomBytes(12345, 5);
    RawHttpServer server(
        Answer("HTTP/1.1 416 Range Not Satisfiable", "", {"Content-Range: bytes */12345"}));
    TempDir dir;
    WriteTestFile(dir.Sub("pkg"), content);

    Status st = TestFetcher()->FetchToFile(server.Url("/pkg"), dir.Sub("pkg"), Options(1 << 20));
    ASSERT_TRUE(st.ok()) << st.message();
    EXPECT_EQ(ReadTestFile(dir.Sub("pkg")), content);
    EXPECT_EQ(server.connections(), 1);
}

TEST(HttpFetcher, LocalFileLongerThanTheServersStartsOver) {
    const std::string content = RandomBytes(3000, 6);
    RawHttpServer server([&](RawConnection& c, int) {
        std::string request = c.ReadRequest();
        if (request.empty()) return;
        if (!HeaderValue(request, "Range").empty()) {
            c.Send(ResponseHead("HTTP/1.1 416 Range Not Satisfiable",
                                {"Content-Range: bytes */3000", "Content-Length: 0"}));
            return;
        }
        c.Send(ResponseHead("HTTP/1.1 200 OK", {"Content-Length: 3000"}) + content);
    });
    TempDir dir;
    WriteTestFile(dir.Sub("pkg"), std::string(4000, '!'));

    Status st = TestFetcher()->FetchToFile(server.Url("/pkg"), dir.Sub("pkg"), Options(1 << 20));
    ASSERT_TRUE(st.ok()) << st.message();
    EXPECT_EQ(ReadTestFile(dir.Sub("pkg")), content);
    EXPECT_EQ(server.connections(), 2);
}

TEST(HttpFetcher, SizeCapCountsTheBytesAlreadyOnDisk) {
    RawHttpServer server(Answer("HTTP/1.1 206 Partial Content", std::string(1000, 'z'),
                                {"Content-Range: bytes 9000-9999/10000"}));
    TempDir dir;
    WriteTestFile(dir.Sub("pkg"), std::string(9000, 'a'));

    Status st = TestFetcher()->FetchToFile(server.Url("/pkg"), dir.Sub("pkg"), Options(9500));
    EXPECT_EQ(st.code(), ErrorCode::kTooLarge) << st.message();
    EXPECT_EQ(ReadTestFile(dir.Sub("pkg")).size(), 9000u);
}

TEST(HttpFetcher, OversizedFullAnswerKeepsThePartialFile) {
    RawHttpServer server([](RawConnection& c, int) {
        if (c.ReadRequest().empty()) return;
        c.Send(ResponseHead("HTTP/1.1 200 OK", {"Content-Length: 20000"}));
        c.SendForever(std::string(4096, 'o'));
    });
    TempDir dir;
    WriteTestFile(dir.Sub("pkg"), std::string(1000, 'a'));

    Status st = TestFetcher()->FetchToFile(server.Url("/pkg"), dir.Sub("pkg"), Options(10000));
    EXPECT_EQ(st.code(), ErrorCode::kTooLarge) << st.message();
    EXPECT_EQ(ReadTestFile(dir.Sub("pkg")), std::string(1000, 'a'));
}

TEST(HttpFetcher, GivesUpAfterTheConfiguredRetries) {
    RawHttpServer server([](RawConnection& c, int) {
        if (c.ReadRequest().empty()) return;
        c.Send(ResponseHead("HTTP/1.1 200 OK", {"Content-Length: 100000"}) + std::string(10, 'q'));
    });
    TempDir dir;
    FetchOptions options = Options(1 << 20);
    options.retries = 2;

    Status st = TestFetcher()->FetchToFile(server.Url("/flaky"), dir.Sub("out"), options);
    EXPECT_EQ(st.code(), ErrorCode::kNetwork);
    EXPECT_NE(st.message().find("gave up after 3 attempts"), std::string::npos) << st.message();
    EXPECT_EQ(server.connections(), 3);
}

TEST(HttpFetcher, ChunkedResponsesAreRefused) {
    RawHttpServer server([](RawConnection& c, int) {
        if (c.ReadRequest().empty()) return;
        c.Send(ResponseHead("HTTP/1.1 200 OK", {"Transfer-Encoding: chunked"}) + "7fffffff\r\n");
        c.SendForever(std::string(64 * 1024, 'c'));
    });
    auto body = TestFetcher()->Fetch(server.Url("/chunked"), Options(1 << 20));
    ASSERT_FALSE(body.ok());
    EXPECT_EQ(body.status().code(), ErrorCode::kRefused) << body.status().message();
}

// A chunked error page (as plain web servers send for 404) is still "not
// found": the TUF client relies on it to stop probing for newer roots.
TEST(HttpFetcher, ChunkedNotFoundIsNotFound) {
    RawHttpServer server([](RawConnection& c, int) {
        if (c.ReadRequest().empty()) return;
        c.Send(ResponseHead("HTTP/1.1 404 Not Found",
                            {"Transfer-Encoding: chunked", "Connection: close"}) +
               "9\r\nnot found\r\n0\r\n\r\n");
    });
    auto body = TestFetcher()->Fetch(server.Url("/2.root.json"), Options(1 << 20));
    ASSERT_FALSE(body.ok());
    EXPECT_EQ(body.status().code(), ErrorCode::kNotFound) << body.status().message();
}

TEST(HttpFetcher, FollowsRedirects) {
    RawHttpServer server([](RawConnection& c, int) {
        std::string request = c.ReadRequest();
        if (request.empty()) return;
        if (request.rfind("GET /old ", 0) == 0) {
            c.Send(ResponseHead("HTTP/1.1 302 Found",
                                {"Location: /new", "Content-Length: 0", "Connection: close"}));
            return;
        }
        c.Send(ResponseHead("HTTP/1.1 200 OK", {"Content-Length: 5", "Connection: close"}) +
               "moved");
    });
    auto body = TestFetcher()->Fetch(server.Url("/old"), Options(1024));
    ASSERT_TRUE(body.ok()) << body.status().message();
    EXPECT_EQ(*body, "moved");
}

TEST(HttpFetcher, RefusesAMissingCap) {
    FetchOptions options;
    auto body = MakeHttpFetcher()->Fetch("http://127.0.0.1:1/x", options);
    EXPECT_EQ(body.status().code(), ErrorCode::kInvalidArgument);
}

TEST(HttpFetcher, ConnectionRefusedIsANetworkError) {
    uint16_t port;
    {
        RawHttpServer closed([](RawConnection&, int) {});
        port = closed.port();
    }
    std::string url = "http://127.0.0.1:" + std::to_string(port) + "/x";
    auto body = TestFetcher()->Fetch(url, Options(1024));
    EXPECT_EQ(body.status().code(), ErrorCode::kNetwork);
    EXPECT_NE(body.status().message().find(url), std::string::npos) << body.status().message();
}

}  // namespace
}  // namespace hvkit
