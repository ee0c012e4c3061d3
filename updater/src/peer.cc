// SO_PEERCRED checks (peer.h).
#include "hvkit/peer.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace hvkit {

Status CheckPeerIsOwnUserOrRoot(int fd) {
    ucred cred{};
    socklen_t len = sizeof cred;
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) {
        return Error(ErrorCode::kIo, std::string("SO_PEERCRED: ") + strerror(errno));
    }
    if (cred.uid == 0 || cred.uid == geteuid()) return Status::Ok();
    return Error(ErrorCode::kRefused, "peer uid " + std::to_string(cred.uid) + " (pid " +
                                          std::to_string(cred.pid) +
                                          ") is neither root nor this process's user");
}

}  // namespace hvkit
