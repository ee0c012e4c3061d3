// Who is on the other end of a Unix socket. hvmm's control socket and
// hvfilterd's stats socket serve only their own user and root: the socket
// file's mode (0600) says so already, and SO_PEERCRED holds to it when a
// mode is loosened or a socket is passed to another process.
#pragma once

#include <sys/types.h>

#include <string>

#include "hvkit/status.h"

namespace hvkit {

// kOk when the peer of the connected Unix socket (fd) runs as root or as
// this process's effective user; kRefused naming the peer's uid and pid
// otherwise, kIo when the kernel cannot say.
Status CheckPeerIsOwnUserOrRoot(int fd);

}  // namespace hvkit
