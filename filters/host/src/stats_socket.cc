#include "stats_socket.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "hvkit/clock.h"
#include "hvkit/peer.h"

namespace hvkit::filterd {
namespace {

// (path) as a Unix socket address; kInvalidArgument when it does not fit.
Result<sockaddr_un> AddressOf(const std::string& path) {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (path.empty() || path.size() >= sizeof(addr.sun_path)) {
        return Error(ErrorCode::kInvalidArgument,
                     "stats socket '" + path + "': the path must have 1.." +
                         std::to_string(sizeof(addr.sun_path) - 1) + " bytes");
    }
    std::memcpy(addr.sun_path, path.data(), path.size());
    return addr;
}

// Connects a stream socket to (addr); the socket, or -1 with errno set.
UniqueFd Connect(const sockaddr_un& addr) {
    UniqueFd sock(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!sock.valid()) return sock;
    if (connect(sock.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) != 0) {
        return UniqueFd();
    }
    return sock;
}

}  // namespace

Result<std::unique_ptr<StatsSocket>> StatsSocket::Listen(const std::string& path) {
    HVKIT_ASSIGN_OR_RETURN(sockaddr_un addr, AddressOf(path));
    struct stat st {};
    if (lstat(path.c_str(), &st) == 0) {
        if (!S_ISSOCK(st.st_mode)) {
            return Error(ErrorCode::kRefused, "stats socket " + path +
                                                  ": the path exists and is not a socket; "
                                                  "remove it or choose another path");
        }
        if (Connect(addr).valid()) {
            return Error(ErrorCode::kConflict, "stats socket " + path +
                                                   ": another process is serving it "
                                                   "(is hvfilterd already running?)");
        }
        unlink(path.c_str());  // stale: left by a run that crashed
    }
    UniqueFd sock(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    if (!sock.valid()) {
        return Error(ErrorCode::kIo, "stats socket " + path + ": socket: " + strerror(errno));
    }
    mode_t old_mask = umask(0077);
    int bound = bind(sock.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
    int bind_errno = errno;
    umask(old_mask);
    if (bound != 0) {
        return Error(ErrorCode::kIo, "stats socket " + path + ": bind: " + strerror(bind_errno));
    }
    if (listen(sock.get(), 16) != 0) {
        unlink(path.c_str());
        return Error(ErrorCode::kIo, "stats socket " + path + ": listen: " + strerror(errno));
    }
    return std::unique_ptr<StatsSocket>(new StatsSocket(std::move(sock), path));
}

StatsSocket::~StatsSocket() {
    unlink(path_.c_str());
}

void StatsSocket::Serve(const std::string& document) {
    for (;;) {
        UniqueFd client(accept4(fd_.get(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK));
        if (!client.valid()) return;                                 // EAGAIN: nobody else waits
        if (!CheckPeerIsOwnUserOrRoot(client.get()).ok()) continue;  // closed unanswered
        [[maybe_unused]] ssize_t n =
            send(client.get(), document.data(), document.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
    }
}

Result<std::string> FetchStats(const std::string& path, std::chrono::milliseconds timeout) {
    HVKIT_ASSIGN_OR_RETURN(sockaddr_un addr, AddressOf(path));
    UniqueFd sock = Connect(addr);
    if (!sock.valid()) {
        return Error(ErrorCode::kNotFound, "stats socket " + path + ": connect: " +
                                               strerror(errno) + " (is hvfilterd running?)");
    }
    auto until = RealClock().Now() + timeout;
    std::string out;
    for (;;) {
        auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(until - RealClock().Now());
        pollfd p{sock.get(), POLLIN, 0};
        int ready = poll(&p, 1, left.count() > 0 ? static_cast<int>(left.count()) : 0);
        if (ready < 0 && errno == EINTR) continue;
        if (ready <= 0) {
            return Error(ErrorCode::kNetwork, "stats socket " + path + ": no complete answer in " +
                                                  std::to_string(timeout.count()) + " ms");
        }
        char buf[4096];
        ssize_t n = read(sock.get(), buf, sizeof(buf));
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            return Error(ErrorCode::kIo, "stats socket " + path + ": read: " + strerror(errno));
        }
        if (n == 0) return out;
        out.append(buf, static_cast<size_t>(n));
    }
}

}  // namespace hvkit::filterd
