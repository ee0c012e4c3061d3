// One control request and its response, for `hvmm control` and tests.
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "control/control.h"

namespace hvkit::hvmm {

namespace {

int64_t NowMs() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return int64_t{ts.tv_sec} * 1000 + ts.tv_nsec / 1000000;
}

}  // namespace

std::string ControlRequestFor(std::string_view word) {
    Json r = Json::MakeObject();
    r["cmd"] = Json(word);
    return DumpJson(r, 0);
}

Result<std::string> SendControlRequest(const std::string& path, std::string_view request,
                                       int timeout_ms) {
    auto fail = [&](const std::string& what) {
        return Error(ErrorCode::kIo,
                     "control socket " + path + ": " + what + ": " + strerror(errno));
    };
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (path.empty() || path.size() >= sizeof addr.sun_path) {
        return Error(ErrorCode::kInvalidArgument,
                     "control socket path '" + path + "' is not a valid Unix socket path");
    }
    memcpy(addr.sun_path, path.data(), path.size());
    UniqueFd fd(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd.valid()) return fail("socket");
    if (connect(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
        return fail("connect (is hvmm running with --control " + path + "?)");
    }
    std::string line(request);
    line += '\n';
    size_t sent = 0;
    while (sent < line.size()) {
        ssize_t n = send(fd.get(), line.data() + sent, line.size() - sent, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return fail("sending the request");
        sent += static_cast<size_t>(n);
    }
    std::string response;
    int64_t deadline = NowMs() + timeout_ms;
    while (true) {
        size_t nl = response.find('\n');
        if (nl != std::string::npos) return response.substr(0, nl);
        int64_t left = deadline - NowMs();
        if (left <= 0) {
            return Error(ErrorCode::kNetwork, "control socket " + path + ": no answer within " +
                                                  std::to_string(timeout_ms) + " ms");
        }
        pollfd p{fd.get(), POLLIN, 0};
        int rc = poll(&p, 1, static_cast<int>(left));
        if (rc < 0 && errno == EINTR) continue;
        if (rc < 0) return fail("poll");
        if (rc == 0) continue;
        char buf[4096];
        ssize_t n = recv(fd.get(), buf, sizeof buf, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return fail("reading the response");
        if (n == 0) {
            return Error(ErrorCode::kNetwork, "control socket " + path +
                                                  ": hvmm closed the connection before answering");
        }
        if (response.size() + static_cast<size_t>(n) > kMaxControlLine * 16) {
            return Error(ErrorCode::kTooLarge, "control socket " + path + ": response too long");
        }
        response.append(buf, static_cast<size_t>(n));
    }
}

}  // namespace hvkit::hvmm
