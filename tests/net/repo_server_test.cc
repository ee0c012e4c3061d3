// RepoServer end to end: HttpFetcher against it for content, raw sockets for
// what a well-behaved client would never send (traversal, odd ranges).
#include "hvkit/repo_server.h"

#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <mutex>
#include <thread>

#include "hvkit/net/http_fetcher.h"
#include "raw_http.h"
#include "temp_dir.h"

namespace hvkit {
namespace {

using testing::HeaderValue;
using testing::RandomBytes;
using testing::RawExchange;
using testing::RawResponse;
using testing::ReadTestFile;
using testing::TempDir;
using testing::WriteTestFile;

const std::string kRootJson = R"({"signed":{"_type":"root","version":1},"signatures":[]})";

class RepoServerTest : public ::testing::Test {
  protected:
    void SetUp() override {
        root_ = dir_.Sub("repo");
        big_ = RandomBytes(5 * 1024 * 1024 + 123, 7);
        WriteTestFile(root_ + "/1.root.json", kRootJson);
        WriteTestFile(root_ + "/targets/big.bin", big_);
        WriteTestFile(root_ + "/sub/dir/x.json", "{}");
        WriteTestFile(dir_.Sub("secret.txt"), "TOPSECRET");
        ASSERT_EQ(symlink(dir_.Sub("secret.txt").c_str(), (root_ + "/escape").c_str()), 0);
        ASSERT_EQ(symlink(dir_.path().c_str(), (root_ + "/escape-dir").c_str()), 0);
        ASSERT_EQ(symlink("1.root.json", (root_ + "/alias.json").c_str()), 0);
        server_ = StartServer();
    }

    std::unique_ptr<RepoServer> StartServer() {
        RepoServerOptions options;
        options.root = root_;
        options.request_log = [this](const RepoRequestLog& entry) {
            std::lock_guard<std::mutex> lock(log_mu_);
            log_.push_back(entry);
        };
        auto server = RepoServer::Start(options);
        EXPECT_TRUE(server.ok()) << server.status().message();
        return server.ok() ? std::move(server).value() : nullptr;
    }

    std::string Url(const std::string& path) const { return server_->base_url() + path; }

    RawResponse Raw(const std::string& method, const std::string& target,
                    const std::string& extra_headers = "") {
        return RawExchange(server_->port(), method + " " + target + " HTTP/1.1\r\nHost: test\r\n" +
                                                extra_headers + "Connection: close\r\n\r\n");
    }

    static FetchOptions Options(int64_t max_bytes) {
        FetchOptions options;
        options.max_bytes = max_bytes;
        options.idle_timeout = std::chrono::milliseconds(10000);
        return options;
    }

    std::vector<RepoRequestLog> Log() {
        std::lock_guard<std::mutex> lock(log_mu_);
        return log_;
    }

    TempDir dir_;
    std::string root_;
    std::string big_;
    std::unique_ptr<RepoServer> server_;
    std::mutex log_mu_;
    std::vector<RepoRequestLog> log_;
};

TEST_F(RepoServerTest, ServesSmallAndLargeFilesByteForByte) {
    auto fetcher = MakeHttpFetcher();
    auto json = fetcher->Fetch(Url("/1.root.json"), Options(1 << 20));
    ASSERT_TRUE(json.ok()) << json.status().message();
    EXPECT_EQ(*json, kRootJson);

    auto big = fetcher->Fetch(Url("/targets/big.bin"), Options(8 << 20));
    ASSERT_TRUE(big.ok()) << big.status().message();
    EXPECT_TRUE(*big == big_) << "5 MiB body differs";

    Status st =
        fetcher->FetchToFile(Url("/targets/big.bin"), dir_.Sub("big.out"), Options(8 << 20));
    ASSERT_TRUE(st.ok()) << st.message();
    EXPECT_TRUE(ReadTestFile(dir_.Sub("big.out")) == big_) << "5 MiB file differs";
}

TEST_F(RepoServerTest, AnswersCarryLengthTypeAndRangeSupport) {
    RawResponse json = Raw("GET", "/1.root.json");
    EXPECT_EQ(json.status, 200);
    EXPECT_EQ(HeaderValue(json.head, "Content-Type"), "application/json");
    EXPECT_EQ(HeaderValue(json.head, "Content-Length"), std::to_string(kRootJson.size()));
    EXPECT_EQ(HeaderValue(json.head, "Accept-Ranges"), "bytes");
    EXPECT_EQ(json.body, kRootJson);

    RawResponse bin = Raw("GET", "/targets/big.bin");
    EXPECT_EQ(bin.status, 200);
    EXPECT_EQ(HeaderValue(bin.head, "Content-Type"), "application/octet-stream");
    EXPECT_EQ(HeaderValue(bin.head, "Content-Length"), std::to_string(big_.size()));
    EXPECT_EQ(bin.body.size(), big_.size());
}

TEST_F(RepoServerTest, HeadSendsHeadersWithoutBody) {
    RawResponse head = Raw("HEAD", "/targets/big.bin");
    EXPECT_EQ(head.status, 200);
    EXPECT_EQ(HeaderValue(head.head, "Content-Length"), std::to_string(big_.size()));
    EXPECT_EQ(HeaderValue(head.head, "Content-Type"), "application/octet-stream");
    EXPECT_EQ(head.body, "");

    RawResponse missing = Raw("HEAD", "/nope.json");
    EXPECT_EQ(missing.status, 404);
    EXPECT_EQ(missing.body, "");
}

TEST_F(RepoServerTest, ServesEachSingleRangeForm) {
    const int64_t size = static_cast<int64_t>(big_.size());
    struct Case {
        std::string range;
        int64_t first;
        int64_t last;
    };
    for (const Case& c :
         {Case{"bytes=10-19", 10, 19},
          Case{"bytes=" + std::to_string(size - 5) + "-", size - 5, size - 1},
          Case{"bytes=-7", size - 7, size - 1}, Case{"bytes=100-999999999", 100, size - 1}}) {
        RawResponse r = Raw("GET", "/targets/big.bin", "Range: " + c.range + "\r\n");
        EXPECT_EQ(r.status, 206) << c.range;
        EXPECT_EQ(HeaderValue(r.head, "Content-Range"), "bytes " + std::to_string(c.first) + "-" +
                                                            std::to_string(c.last) + "/" +
                                                            std::to_string(size))
            << c.range;
        EXPECT_EQ(HeaderValue(r.head, "Content-Length"), std::to_string(c.last - c.first + 1));
        EXPECT_TRUE(r.body == big_.substr(c.first, c.last - c.first + 1)) << c.range;
    }
}

TEST_F(RepoServerTest, UnsatisfiableRangeIs416AndUnusableRangeServesAll) {
    RawResponse past =
        Raw("GET", "/1.root.json", "Range: bytes=" + std::to_string(kRootJson.size()) + "-\r\n");
    EXPECT_EQ(past.status, 416);
    EXPECT_EQ(HeaderValue(past.head, "Content-Range"),
              "bytes */" + std::to_string(kRootJson.size()));

    for (const char* range : {"bytes=abc", "bytes=0-1,4-5", "lines=1-2"}) {
        RawResponse all = Raw("GET", "/1.root.json", std::string("Range: ") + range + "\r\n");
        EXPECT_EQ(all.status, 200) << range;
        EXPECT_EQ(all.body, kRootJson) << range;
    }
}

TEST_F(RepoServerTest, RefusesPathTraversal) {
    // Dot segments (also percent-encoded, also hidden behind an encoded
    // slash), NUL, backslash, and symlinks that leave the root.
    for (const char* target :
         {"/../secret.txt", "/%2e%2e/secret.txt", "/%2E%2E/secret.txt", "/sub/../../secret.txt",
          "/sub/%2e%2e/%2e%2e/secret.txt", "/..%2fsecret.txt", "/sub/dir/..%2F..%2F..%2Fsecret.txt",
          "http://test/../secret.txt", "/escape", "/escape-dir/secret.txt", "/%2e%2e%5csecret.txt",
          "/x%00.json", "/./1.root.json"}) {
        RawResponse r = Raw("GET", target);
        EXPECT_EQ(r.status, 403) << target;
        EXPECT_EQ(r.body.find("TOPSECRET"), std::string::npos) << target;
    }
    // Absolute paths stay under the root; directories are not listed.
    for (const char* target : {"/etc/passwd", "//etc/passwd", "/%2fetc%2fpasswd", "/", "/sub"}) {
        RawResponse r = Raw("GET", target);
        EXPECT_EQ(r.status, 404) << target;
    }
    // A symlink that stays inside the root is fine.
    RawResponse alias = Raw("GET", "/alias.json");
    EXPECT_EQ(alias.status, 200);
    EXPECT_EQ(alias.body, kRootJson);
}

TEST_F(RepoServerTest, MissingFileIsNotFoundNamingTheUrl) {
    auto body = MakeHttpFetcher()->Fetch(Url("/2.root.json"), Options(1024));
    ASSERT_FALSE(body.ok());
    EXPECT_EQ(body.status().code(), ErrorCode::kNotFound);
    EXPECT_NE(body.status().message().find(Url("/2.root.json")), std::string::npos)
        << body.status().message();
}

TEST_F(RepoServerTest, OnlyGetAndHeadAreServed) {
    RawResponse post = Raw("POST", "/1.root.json", "Content-Length: 0\r\n");
    EXPECT_EQ(post.status, 405);
    EXPECT_EQ(HeaderValue(post.head, "Allow"), "GET, HEAD");
}

TEST_F(RepoServerTest, ResumedDownloadUsesARangeRequest) {
    WriteTestFile(dir_.Sub("part"), big_.substr(0, 1000000));
    Status st =
        MakeHttpFetcher()->FetchToFile(Url("/targets/big.bin"), dir_.Sub("part"), Options(8 << 20));
    ASSERT_TRUE(st.ok()) << st.message();
    EXPECT_TRUE(ReadTestFile(dir_.Sub("part")) == big_);
    auto log = Log();
    ASSERT_EQ(log.size(), 1u);
    EXPECT_EQ(log[0].method, "GET");
    EXPECT_EQ(log[0].target, "/targets/big.bin");
    EXPECT_EQ(log[0].range, "bytes=1000000-");
    EXPECT_EQ(log[0].status, 206);
    EXPECT_EQ(log[0].bytes, static_cast<int64_t>(big_.size()) - 1000000);
    EXPECT_EQ(log[0].remote, "127.0.0.1");
}

TEST_F(RepoServerTest, ServesConcurrentRequests) {
    std::vector<std::thread> threads;
    std::vector<Status> results(8);
    for (int i = 0; i < 8; ++i) {
        threads.emplace_back([&, i] {
            auto fetcher = MakeHttpFetcher();
            if (i % 2 == 0) {
                auto body = fetcher->Fetch(Url("/targets/big.bin"), Options(8 << 20));
                results[i] = !body.ok()      ? body.status()
                             : *body != big_ ? Error(ErrorCode::kHashMismatch, "body differs")
                                             : Status::Ok();
            } else {
                std::string out = dir_.Sub("c" + std::to_string(i));
                results[i] = fetcher->FetchToFile(Url("/targets/big.bin"), out, Options(8 << 20));
                if (results[i].ok() && ReadTestFile(out) != big_) {
                    results[i] = Error(ErrorCode::kHashMismatch, "file differs");
                }
            }
        });
    }
    for (auto& t : threads) t.join();
    for (const auto& st : results) EXPECT_TRUE(st.ok()) << st.message();
}

TEST_F(RepoServerTest, SeveralServersAndRestartsGetWorkingPorts) {
    auto second = StartServer();
    ASSERT_NE(second, nullptr);
    EXPECT_NE(second->port(), server_->port());
    auto body = MakeHttpFetcher()->Fetch(second->base_url() + "/1.root.json", Options(1024));
    ASSERT_TRUE(body.ok()) << body.status().message();

    second->Stop();
    server_->Stop();
    server_->Stop();  // harmless twice
    server_ = StartServer();
    ASSERT_NE(server_, nullptr);
    auto again = MakeHttpFetcher()->Fetch(Url("/1.root.json"), Options(1024));
    ASSERT_TRUE(again.ok()) << again.status().message();
    EXPECT_EQ(*again, kRootJson);
}

TEST_F(RepoServerTest, ExplicitPortInUseIsAConflict) {
    RepoServerOptions options;
    options.root = root_;
    options.port = server_->port();
    auto clash = RepoServer::Start(options);
    ASSERT_FALSE(clash.ok());
    EXPECT_EQ(clash.status().code(), ErrorCode::kConflict) << clash.status().message();
    // The running server was not disturbed.
    EXPECT_EQ(Raw("GET", "/1.root.json").status, 200);

    testing::RawHttpServer other([](testing::RawConnection&, int) {});
    options.port = other.port();
    auto taken = RepoServer::Start(options);
    ASSERT_FALSE(taken.ok());
    EXPECT_EQ(taken.status().code(), ErrorCode::kConflict) << taken.status().message();
    EXPECT_EQ(Raw("GET", "/1.root.json").status, 200);
}

// hvrepo serves REPO with {"metadata", "targets"}: the private keys beside
// them must never be reachable, by name, by encoding or through a symlink.
TEST_F(RepoServerTest, ServedDirectoriesHideEverythingElse) {
    WriteTestFile(root_ + "/keys/root.json", "private");
    WriteTestFile(root_ + "/metadata/timestamp.json", "{}");
    ASSERT_EQ(symlink("../keys/root.json", (root_ + "/metadata/leak.json").c_str()), 0);
    RepoServerOptions options;
    options.root = root_;
    options.served_directories = {"metadata", "targets"};
    auto server = RepoServer::Start(options);
    ASSERT_TRUE(server.ok()) << server.status().message();
    auto get = [&](const std::string& target) {
        return RawExchange(
            (*server)->port(),
            "GET " + target + " HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n");
    };
    EXPECT_EQ(get("/metadata/timestamp.json").status, 200);
    EXPECT_EQ(get("/targets/big.bin").status, 200);
    EXPECT_EQ(get("/keys/root.json").status, 404);
    EXPECT_EQ(get("/%6Beys/root.json").status, 404);
    EXPECT_EQ(get("/1.root.json").status, 404);
    EXPECT_EQ(get("/metadata").status, 404);
    EXPECT_EQ(get("/metadata/leak.json").status, 403);
    EXPECT_EQ(get("/metadata/%2e%2e/keys/root.json").status, 403);
}

TEST_F(RepoServerTest, BadOptionsAreRefused) {
    RepoServerOptions options;
    options.root = dir_.Sub("does-not-exist");
    EXPECT_EQ(RepoServer::Start(options).status().code(), ErrorCode::kInvalidArgument);
    options.root = root_;
    options.bind_address = "::1";
    EXPECT_EQ(RepoServer::Start(options).status().code(), ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace hvkit
