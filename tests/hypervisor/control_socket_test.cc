// The control socket's plumbing against a fake target: the socket file's
// rules (mode 0600, live refused, stale replaced, only our file removed),
// several clients at once, garbage and abrupt disconnects, the client cap.
#include <dirent.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

#include "control/control.h"
#include "fake_control_target.h"

namespace hvkit::hvmm {
namespace {

using testing::FakeTarget;

class ControlSocketTest : public ::testing::Test {
  protected:
    void SetUp() override {
        char tmpl[] = "/tmp/hvmm-ctl-XXXXXX";
        ASSERT_NE(mkdtemp(tmpl), nullptr);
        dir = tmpl;
        path = dir + "/c.sock";
    }
    void TearDown() override {
        unlink(path.c_str());
        rmdir(dir.c_str());
    }
    std::string dir, path;
    FakeTarget target;
};

// A raw client, for what SendControlRequest would not do.
UniqueFd Connect(const std::string& path) {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    memcpy(addr.sun_path, path.data(), path.size());
    UniqueFd fd(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    EXPECT_EQ(connect(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr), 0)
        << strerror(errno);
    return fd;
}

void SendAll(int fd, std::string_view bytes) {
    while (!bytes.empty()) {
        ssize_t n = send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
        ASSERT_GT(n, 0) << strerror(errno);
        bytes.remove_prefix(static_cast<size_t>(n));
    }
}

// Reads (count) response lines from (fd), waiting at most 30 s in all.
std::vector<std::string> ReadLines(int fd, size_t count) {
    std::vector<std::string> lines;
    std::string buf;
    while (lines.size() < count) {
        size_t nl = buf.find('\n');
        if (nl != std::string::npos) {
            lines.push_back(buf.substr(0, nl));
            buf.erase(0, nl + 1);
            continue;
        }
        pollfd p{fd, POLLIN, 0};
        if (poll(&p, 1, 30000) <= 0) break;
        char chunk[4096];
        ssize_t n = recv(fd, chunk, sizeof chunk, 0);
        if (n <= 0) break;
        buf.append(chunk, static_cast<size_t>(n));
    }
    return lines;
}

Json ParseResponse(const std::string& line) {
    auto j = ParseJson(line, "response");
    EXPECT_TRUE(j.ok()) << line;
    return j.ok() ? *j : Json();
}

bool IsOk(const std::string& line) {
    Json j = ParseResponse(line);
    return j.Find("ok") != nullptr && j.Find("ok")->is_bool() && j.Find("ok")->as_bool();
}

TEST_F(ControlSocketTest, ServesStatusOnASocketOfMode0600AndRemovesItAtExit) {
    {
        auto server = ControlServer::Start(path, target, -1);
        ASSERT_TRUE(server.ok()) << server.status().message();
        struct stat st {};
        ASSERT_EQ(lstat(path.c_str(), &st), 0);
        EXPECT_TRUE(S_ISSOCK(st.st_mode));
        EXPECT_EQ(st.st_mode & 07777, 0600u);
        auto response = SendControlRequest(path, R"({"cmd":"status"})");
        ASSERT_TRUE(response.ok()) << response.status().message();
        Json r = ParseResponse(*response);
        EXPECT_EQ(r.Find("state")->as_string(), "running");
        EXPECT_EQ(r.Find("vcpus")->as_int(), 2);
    }
    EXPECT_NE(access(path.c_str(), F_OK), 0) << "the socket file outlived its server";
}

TEST_F(ControlSocketTest, RefusesALiveSocket) {
    auto first = ControlServer::Start(path, target, -1);
    ASSERT_TRUE(first.ok());
    auto second = ControlServer::Start(path, target, -1);
    ASSERT_FALSE(second.ok());
    EXPECT_EQ(second.status().code(), ErrorCode::kConflict);
    EXPECT_NE(second.status().message().find("is in use"), std::string::npos)
        << second.status().message();
    // The first server still answers.
    auto response = SendControlRequest(path, R"({"cmd":"status"})");
    ASSERT_TRUE(response.ok()) << response.status().message();
    EXPECT_TRUE(IsOk(*response));
}

TEST_F(ControlSocketTest, ReplacesAStaleSocket) {
    {
        // Bound, then closed without unlinking: what a killed hvmm leaves.
        sockaddr_un addr{};
        addr.sun_family = AF_UNIX;
        memcpy(addr.sun_path, path.data(), path.size());
        UniqueFd fd(socket(AF_UNIX, SOCK_STREAM, 0));
        ASSERT_EQ(bind(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr), 0);
    }
    ASSERT_EQ(access(path.c_str(), F_OK), 0);
    auto server = ControlServer::Start(path, target, -1);
    ASSERT_TRUE(server.ok()) << server.status().message();
    auto response = SendControlRequest(path, R"({"cmd":"status"})");
    ASSERT_TRUE(response.ok()) << response.status().message();
    EXPECT_TRUE(IsOk(*response));
}

TEST_F(ControlSocketTest, RefusesToReplaceAFileThatIsNotASocket) {
    ASSERT_TRUE(WriteFileAtomic(path, "precious", 0644).ok());
    auto server = ControlServer::Start(path, target, -1);
    ASSERT_FALSE(server.ok());
    EXPECT_NE(server.status().message().find("is not a socket"), std::string::npos)
        << server.status().message();
    auto text = ReadFile(path, 100);
    ASSERT_TRUE(text.ok());
    EXPECT_EQ(*text, "precious");
}

TEST_F(ControlSocketTest, RefusesAPathTooLongForAUnixSocket) {
    auto server = ControlServer::Start(dir + "/" + std::string(120, 'x'), target, -1);
    ASSERT_FALSE(server.ok());
    EXPECT_NE(server.status().message().find("Unix socket path limit"), std::string::npos)
        << server.status().message();
}

TEST_F(ControlSocketTest, LeavesASuccessorsSocketFileAlone) {
    auto server = ControlServer::Start(path, target, -1);
    ASSERT_TRUE(server.ok());
    // Another process replaced the file (as a successor hvmm would).
    ASSERT_EQ(unlink(path.c_str()), 0);
    ASSERT_TRUE(WriteFileAtomic(path, "successor", 0600).ok());
    server->reset();
    auto text = ReadFile(path, 100);
    ASSERT_TRUE(text.ok()) << "the server removed a file it did not create";
    EXPECT_EQ(*text, "successor");
}

TEST_F(ControlSocketTest, AnswersPipelinedRequestsInOrder) {
    auto server = ControlServer::Start(path, target, -1);
    ASSERT_TRUE(server.ok());
    UniqueFd c = Connect(path);
    SendAll(c.get(),
            "{\"cmd\":\"pause\"}\n{\"cmd\":\"status\"}\r\n{\"cmd\":\"resume\"}\n{\"cmd\":"
            "\"status\"}\n");
    auto lines = ReadLines(c.get(), 4);
    ASSERT_EQ(lines.size(), 4u);
    EXPECT_EQ(lines[0], R"({"ok":true})");
    EXPECT_EQ(ParseResponse(lines[1]).Find("state")->as_string(), "paused");
    EXPECT_EQ(lines[2], R"({"ok":true})");
    EXPECT_EQ(ParseResponse(lines[3]).Find("state")->as_string(), "running");
    EXPECT_EQ(target.pauses.load(), 1);
    EXPECT_EQ(target.resumes.load(), 1);
}

TEST_F(ControlSocketTest, GarbageAndDisconnectsDoNotDisturbOtherClients) {
    auto server = ControlServer::Start(path, target, -1);
    ASSERT_TRUE(server.ok());
    UniqueFd good = Connect(path);
    UniqueFd garbage = Connect(path);
    {
        UniqueFd quitter = Connect(path);
        SendAll(quitter.get(), "{\"cmd\":\"shut");  // then gone, mid-line
    }
    SendAll(garbage.get(), std::string("\x00\xff\xfe garbage\n", 13));
    SendAll(good.get(), "{\"cmd\":\"status\"}\n");
    auto g = ReadLines(garbage.get(), 1);
    ASSERT_EQ(g.size(), 1u);
    EXPECT_NE(ParseResponse(g[0]).Find("error")->as_string().find("not valid JSON"),
              std::string::npos);
    auto s = ReadLines(good.get(), 1);
    ASSERT_EQ(s.size(), 1u);
    EXPECT_EQ(ParseResponse(s[0]).Find("state")->as_string(), "running");
    {
        // An overlong line, then an abrupt close with unread answers.
        UniqueFd flood = Connect(path);
        SendAll(flood.get(), std::string(3 * kMaxControlLine, 'z'));
        SendAll(flood.get(), "\n{\"cmd\":\"status\"}\n");
    }
    // The overlong line is refused on the same connection, which then works.
    SendAll(garbage.get(), std::string(kMaxControlLine + 10, 'q') + "\n{\"cmd\":\"status\"}\n");
    g = ReadLines(garbage.get(), 2);
    ASSERT_EQ(g.size(), 2u);
    EXPECT_NE(ParseResponse(g[0]).Find("error")->as_string().find("longer than 65536 bytes"),
              std::string::npos);
    EXPECT_TRUE(IsOk(g[1]));
    SendAll(good.get(), "{\"cmd\":\"status\"}\n");
    s = ReadLines(good.get(), 1);
    ASSERT_EQ(s.size(), 1u);
    EXPECT_TRUE(IsOk(s[0]));
    EXPECT_EQ(target.shutdowns.load(), 0) << "a half-sent shutdown was acted on";
}

TEST_F(ControlSocketTest, RefusesClientsPastTheCap) {
    auto server = ControlServer::Start(path, target, -1);
    ASSERT_TRUE(server.ok());
    std::vector<UniqueFd> clients;
    for (size_t i = 0; i < ControlServer::kMaxControlClients; ++i) {
        clients.push_back(Connect(path));
        SendAll(clients.back().get(), "{\"cmd\":\"status\"}\n");
        ASSERT_EQ(ReadLines(clients.back().get(), 1).size(), 1u);  // accepted and served
    }
    UniqueFd extra = Connect(path);
    auto refusal = ReadLines(extra.get(), 1);
    ASSERT_EQ(refusal.size(), 1u);
    EXPECT_NE(ParseResponse(refusal[0]).Find("error")->as_string().find("too many control clients"),
              std::string::npos);
    // A slot frees up once the server has seen the close, which may come
    // after it accepted the next connection: retry for a while.
    clients.pop_back();
    bool served = false;
    for (int attempt = 0; attempt < 3000 && !served; ++attempt) {
        auto response = SendControlRequest(path, R"({"cmd":"status"})");
        ASSERT_TRUE(response.ok()) << response.status().message();
        served = IsOk(*response);
        if (!served) usleep(10000);
    }
    EXPECT_TRUE(served) << "a closed client's slot was never freed";
}

// SO_PEERCRED holds to the socket's rule when its mode is loosened: a
// client of another uid is refused with a message, its command not run.
TEST_F(ControlSocketTest, RefusesAPeerOfAnotherUser) {
    if (geteuid() != 0) GTEST_SKIP() << "needs root to run a client as another uid";
    auto server = ControlServer::Start(path, target, -1);
    ASSERT_TRUE(server.ok());
    ASSERT_EQ(chmod(path.c_str(), 0666), 0);
    ASSERT_EQ(chmod(dir.c_str(), 0755), 0);
    int out[2];
    ASSERT_EQ(pipe(out), 0);
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
        close(out[0]);
        if (setgid(65534) != 0 || setuid(65534) != 0) _exit(3);
        // The server may answer a refused peer and close before the request
        // arrives (the send then fails): what it sent stays readable.
        sockaddr_un addr{};
        addr.sun_family = AF_UNIX;
        memcpy(addr.sun_path, path.data(), path.size());
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) _exit(4);
        const char shutdown_line[] = "{\"cmd\":\"shutdown\"}\n";
        (void)!send(fd, shutdown_line, sizeof shutdown_line - 1, MSG_NOSIGNAL);
        timeval five{5, 0};
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &five, sizeof five);
        std::string text;
        char buf[512];
        for (ssize_t n; (n = read(fd, buf, sizeof buf)) > 0;) {
            text.append(buf, static_cast<size_t>(n));
            if (text.find('\n') != std::string::npos) break;
        }
        (void)!write(out[1], text.data(), text.size());
        _exit(0);
    }
    close(out[1]);
    std::string answer;
    char buf[512];
    for (ssize_t n; (n = read(out[0], buf, sizeof buf)) > 0;) {
        answer.append(buf, static_cast<size_t>(n));
    }
    close(out[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "the child could not run";
    EXPECT_NE(answer.find("neither root nor this process's user"), std::string::npos) << answer;
    EXPECT_EQ(target.shutdowns.load(), 0) << "another user's command was run";
    EXPECT_TRUE(SendControlRequest(path, R"({"cmd":"status"})").ok()) << "its owner is served";
}

size_t OpenFds() {
    size_t n = 0;
    if (DIR* d = opendir("/proc/self/fd")) {
        while (readdir(d) != nullptr) ++n;
        closedir(d);
    }
    return n;
}

// A client that asks for filter-attach again and again without reading its
// answers cannot make hvmm hold more than a few of the fds they carry.
TEST_F(ControlSocketTest, AClientThatDoesNotReadCannotPileUpFds) {
    target.attach = []() -> Result<FilterAttachment> {
        FilterAttachment a;
        a.region_size = 1 << 20;
        for (auto& fd : a.fds) fd = UniqueFd(eventfd(0, EFD_CLOEXEC));
        return a;
    };
    auto server = ControlServer::Start(path, target, -1);
    ASSERT_TRUE(server.ok());
    size_t before = OpenFds();
    UniqueFd client = Connect(path);
    constexpr int kRequests = 1500;
    std::string requests;
    for (int i = 0; i < kRequests; ++i) requests += "{\"cmd\":\"filter-attach\"}\n";
    SendAll(client.get(), requests);
    for (int i = 0; i < 3000 && target.attaches < kRequests; ++i) usleep(10000);
    ASSERT_EQ(target.attaches, kRequests) << "the server did not take every request";
    size_t held = OpenFds() - before;
    EXPECT_LT(held, 40u) << "hvmm holds " << held << " fds for one client's unread answers";
    // Reading now, the client gets the refusals in place of the fds.
    const std::string refusal = "fds already wait for this client to read its answers";
    std::string all;
    char buf[65536];
    pollfd p{client.get(), POLLIN, 0};
    while (all.find(refusal) == std::string::npos && poll(&p, 1, 5000) == 1) {
        ssize_t n = recv(client.get(), buf, sizeof buf, 0);
        if (n <= 0) break;
        all.append(buf, static_cast<size_t>(n));
    }
    EXPECT_NE(all.find(refusal), std::string::npos);
}

TEST_F(ControlSocketTest, StopsServingWhenTheStopFdFires) {
    UniqueFd stop(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    auto server = ControlServer::Start(path, target, stop.get());
    ASSERT_TRUE(server.ok());
    ASSERT_TRUE(SendControlRequest(path, R"({"cmd":"status"})").ok());
    uint64_t one = 1;
    ASSERT_EQ(write(stop.get(), &one, sizeof one), 8);
    // The thread ends on its own; nothing answers any more.
    auto response = SendControlRequest(path, R"({"cmd":"status"})", 500);
    EXPECT_FALSE(response.ok());
}

TEST_F(ControlSocketTest, ClientReportsAMissingSocket) {
    auto response = SendControlRequest(path, R"({"cmd":"status"})");
    ASSERT_FALSE(response.ok());
    EXPECT_NE(response.status().message().find("is hvmm running with --control"), std::string::npos)
        << response.status().message();
}

}  // namespace
}  // namespace hvkit::hvmm
