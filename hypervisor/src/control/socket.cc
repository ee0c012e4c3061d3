// The control socket's file: refusing a live one, replacing a stale one,
// binding with mode 0600, and removing only our own file at exit.
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "control/control.h"

namespace hvkit::hvmm {

namespace {

Status SocketError(const std::string& path, const std::string& what) {
    return Error(ErrorCode::kIo, "control socket " + path + ": " + what + ": " + strerror(errno));
}

// True when some process accepts connections on the socket at (addr).
Result<bool> SocketIsLive(const sockaddr_un& addr, const std::string& path) {
    UniqueFd probe(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!probe.valid()) return SocketError(path, "socket");
    if (connect(probe.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0) {
        return true;
    }
    if (errno == ECONNREFUSED) return false;  // nobody listens: a leftover file
    return SocketError(path, "probing the existing socket");
}

}  // namespace

Result<ControlSocket> ListenControlSocket(const std::string& path) {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (path.empty() || path.size() >= sizeof addr.sun_path) {
        return Error(ErrorCode::kInvalidArgument,
                     "control socket path '" + path + "' must be 1 to " +
                         std::to_string(sizeof addr.sun_path - 1) +
                         " bytes (a Unix socket path limit); choose a shorter --control path");
    }
    memcpy(addr.sun_path, path.data(), path.size());

    struct stat st {};
    if (lstat(path.c_str(), &st) == 0) {
        if (!S_ISSOCK(st.st_mode)) {
            return Error(ErrorCode::kConflict, "control socket " + path +
                                                   " exists and is not a socket; refusing to "
                                                   "replace it (remove it or choose another path)");
        }
        HVKIT_ASSIGN_OR_RETURN(bool live, SocketIsLive(addr, path));
        if (live) {
            return Error(ErrorCode::kConflict,
                         "control socket " + path +
                             " is in use (a process accepts connections on it); stop that "
                             "hvmm or choose another --control path");
        }
        if (unlink(path.c_str()) != 0 && errno != ENOENT) {
            return SocketError(path, "removing the stale socket");
        }
    } else if (errno != ENOENT) {
        return SocketError(path, "lstat");
    }

    ControlSocket s;
    s.path = path;
    s.fd = UniqueFd(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    if (!s.fd.valid()) return SocketError(path, "socket");
    // The file is created by bind() with the umask's mode: narrow it for the
    // bind so no other user can connect even briefly, then set 0600 outright.
    mode_t old_umask = umask(0177);
    int rc = bind(s.fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr);
    int bind_errno = errno;
    umask(old_umask);
    if (rc != 0) {
        errno = bind_errno;
        return SocketError(path, "bind");
    }
    if (chmod(path.c_str(), 0600) != 0 || lstat(path.c_str(), &st) != 0) {
        Status err = SocketError(path, "setting mode 0600");
        unlink(path.c_str());
        return err;
    }
    s.dev = st.st_dev;
    s.ino = st.st_ino;
    if (listen(s.fd.get(), 16) != 0) {
        Status err = SocketError(path, "listen");
        unlink(path.c_str());
        return err;
    }
    return s;
}

void CloseControlSocket(ControlSocket& socket) {
    if (!socket.fd.valid()) return;
    struct stat st {};
    if (lstat(socket.path.c_str(), &st) == 0 && st.st_dev == socket.dev &&
        st.st_ino == socket.ino) {
        unlink(socket.path.c_str());
    }
    socket.fd = UniqueFd();
}

}  // namespace hvkit::hvmm
