#include "free_port.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace hvkit::repo {

Result<uint16_t> ProbeFreePort(const std::string& host) {
    addrinfo hints{};
    hints.ai_family = AF_INET;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    int rc = getaddrinfo(host.c_str(), "0", &hints, &found);
    if (rc != 0 || found == nullptr) {
        return Error(ErrorCode::kInvalidArgument,
                     "cannot resolve listen address '" + host + "': " + gai_strerror(rc));
    }
    sockaddr_in addr;
    std::memcpy(&addr, found->ai_addr, sizeof addr);
    freeaddrinfo(found);

    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return Error(ErrorCode::kIo, std::string("cannot create a socket: ") + strerror(errno));
    addr.sin_port = 0;
    socklen_t len = sizeof addr;
    if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
        Status st =
            Error(ErrorCode::kIo, "cannot bind a probe socket on " + host + ": " + strerror(errno));
        close(fd);
        return st;
    }
    close(fd);
    return static_cast<uint16_t>(ntohs(addr.sin_port));
}

}  // namespace hvkit::repo
