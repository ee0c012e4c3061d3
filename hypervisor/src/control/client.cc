// One control request and its response, for `hvmm control` and tests.
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "control/control.h"

namespace hvkit::hvmm {

namespace {

int64_t NowMs() {
    return MonotonicNs() / 1000000;
}

// At most this many fds arrive with one read; more are a server's mistake.
constexpr size_t kMaxReceivedFds = 8;

// recv() of up to (size) bytes into (buf) that also takes SCM_RIGHTS fds:
// appended to (fds), or closed when it is null.
ssize_t ReceiveWithFds(int fd, char* buf, size_t size, std::vector<UniqueFd>* fds) {
    iovec iov{buf, size};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * kMaxReceivedFds)];
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    ssize_t n = recvmsg(fd, &msg, MSG_CMSG_CLOEXEC);
    if (n < 0) return n;
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
        size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        const unsigned char* data = CMSG_DATA(c);
        for (size_t i = 0; i < count; ++i) {
            int received;
            memcpy(&received, data + i * sizeof(int), sizeof received);
            UniqueFd owned(received);  // closed here unless the caller keeps it
            if (fds != nullptr) fds->push_back(std::move(owned));
        }
    }
    return n;
}

}  // namespace

std::string ControlRequestFor(std::string_view word) {
    Json r = Json::MakeObject();
    r["cmd"] = Json(word);
    return DumpJson(r, 0);
}

Result<std::string> SendControlRequest(const std::string& path, std::string_view request,
                                       int timeout_ms, std::vector<UniqueFd>* fds) {
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
        ssize_t n = ReceiveWithFds(fd.get(), buf, sizeof buf, fds);
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
