#include "vm_attach.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "hvkit/filter_ring_abi.h"
#include "hvkit/json.h"

namespace hvkit::filterd {
namespace {

// Room for more fds than hvmm should send, so a wrong count is seen whole.
constexpr size_t kMaxFds = 8;

std::string Where(const std::string& control_socket) {
    return "attaching to hvmm control socket " + control_socket;
}

Status SetTimeouts(int fd, std::chrono::milliseconds timeout) {
    timeval tv{};
    tv.tv_sec = static_cast<time_t>(timeout.count() / 1000);
    tv.tv_usec = static_cast<suseconds_t>((timeout.count() % 1000) * 1000);
    if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0 ||
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) != 0) {
        return Error(ErrorCode::kIo, std::string("setting socket timeouts: ") + strerror(errno));
    }
    return Status::Ok();
}

// Takes every fd in the control messages of (msg) into (fds).
void CollectFds(msghdr& msg, std::vector<UniqueFd>& fds) {
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
        size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (size_t i = 0; i < n; ++i) {
            int fd;
            std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
            fds.emplace_back(fd);
        }
    }
}

// Reads one response line (without its newline) and the fds sent with it.
Status ReadResponse(int sock, std::string& line, std::vector<UniqueFd>& fds) {
    for (;;) {
        char buf[512];
        alignas(cmsghdr) char control[CMSG_SPACE(kMaxFds * sizeof(int))];
        iovec iov{buf, sizeof(buf)};
        msghdr msg{};
        msg.msg_iov = &iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control;
        msg.msg_controllen = sizeof(control);
        ssize_t n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            return Error(ErrorCode::kIo,
                         std::string("reading the response: ") +
                             (errno == EAGAIN ? "no answer in time" : strerror(errno)));
        }
        CollectFds(msg, fds);
        if ((msg.msg_flags & MSG_CTRUNC) != 0) {
            return Error(ErrorCode::kRefused, "hvmm sent more than " + std::to_string(kMaxFds) +
                                                  " fds; the protocol passes exactly 3");
        }
        if (n == 0) return Error(ErrorCode::kIo, "hvmm closed the connection before a full line");
        line.append(buf, static_cast<size_t>(n));
        size_t newline = line.find('\n');
        if (newline != std::string::npos) {
            if (newline + 1 != line.size()) {
                return Error(ErrorCode::kRefused, "hvmm sent bytes after the response line");
            }
            line.resize(newline);
            return Status::Ok();
        }
        if (line.size() > kMaxAttachResponse) {
            return Error(ErrorCode::kTooLarge, "the response line is longer than " +
                                                   std::to_string(kMaxAttachResponse) + " bytes");
        }
    }
}

// (fd) is an eventfd: anything else as a doorbell would spin the poll loop
// (/dev/zero is always readable) or block it.
bool IsEventfd(int fd) {
    char target[64] = {};
    std::string link = "/proc/self/fd/" + std::to_string(fd);
    ssize_t n = readlink(link.c_str(), target, sizeof target - 1);
    return n > 0 && std::string_view(target, static_cast<size_t>(n)) == "anon_inode:[eventfd]";
}

// hvmm's fds are checked as any peer's input: this daemon runs as root and
// answers the host's I/O, so a wrong kind of fd must not hang it, nor a
// region that can shrink under its mapping fault it (SIGBUS).
Status CheckPassedFds(const RegionFds& fds, const std::string& control_socket) {
    auto refuse = [&](const std::string& rule) {
        return Error(ErrorCode::kRefused, Where(control_socket) + ": " + rule);
    };
    int seals = fcntl(fds.region.get(), F_GET_SEALS);
    if (seals < 0) return refuse("the region fd is not a memfd that can be sealed");
    if ((seals & (F_SEAL_SHRINK | F_SEAL_GROW)) != (F_SEAL_SHRINK | F_SEAL_GROW)) {
        return refuse(
            "the region memfd is not sealed against shrinking and growing "
            "(F_SEAL_SHRINK | F_SEAL_GROW): it could be truncated under the mapping");
    }
    if (!IsEventfd(fds.doorbell.get())) return refuse("the doorbell fd is not an eventfd");
    if (!IsEventfd(fds.interrupt.get())) return refuse("the interrupt fd is not an eventfd");
    return Status::Ok();
}

}  // namespace

Result<uint64_t> ParseAttachResponse(std::string_view line, const std::string& control_socket) {
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    auto refuse = [&](const std::string& rule) {
        return Error(ErrorCode::kRefused, Where(control_socket) + ": " + rule);
    };
    Result<Json> parsed = ParseJson(line, "hvmm's filter-attach response");
    if (!parsed.ok()) return parsed.status().WithContext(Where(control_socket));
    const Json& r = *parsed;
    if (!r.is_object()) return refuse("the response is not a JSON object");
    const Json* ok = r.Find("ok");
    if (ok == nullptr || !ok->is_bool()) return refuse("the response has no boolean \"ok\"");
    if (!ok->as_bool()) {
        const Json* error = r.Find("error");
        std::string text =
            error != nullptr && error->is_string() ? error->as_string() : "(no error text)";
        return refuse("hvmm refused filter-attach: " + text);
    }
    const Json* major = r.Find("abi_major");
    const Json* minor = r.Find("abi_minor");
    const Json* size = r.Find("region_size");
    if (major == nullptr || !major->is_int() || minor == nullptr || !minor->is_int()) {
        return refuse("the response lacks integer \"abi_major\" and \"abi_minor\"");
    }
    if (major->as_int() != HVFILTER_ABI_MAJOR) {
        return refuse("hvmm speaks filter ring ABI " + std::to_string(major->as_int()) + "." +
                      std::to_string(minor->as_int()) + ", this hvfilterd speaks " +
                      std::to_string(HVFILTER_ABI_MAJOR) + "." +
                      std::to_string(HVFILTER_ABI_MINOR) + "; the major versions must match");
    }
    if (size == nullptr || !size->is_int() || size->as_int() <= 0) {
        return refuse("the response lacks a positive integer \"region_size\"");
    }
    return static_cast<uint64_t>(size->as_int());
}

Result<RegionFds> AttachToVm(const std::string& control_socket, std::chrono::milliseconds timeout) {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (control_socket.size() >= sizeof(addr.sun_path)) {
        return Error(ErrorCode::kInvalidArgument,
                     Where(control_socket) + ": the path is longer than " +
                         std::to_string(sizeof(addr.sun_path) - 1) + " bytes");
    }
    std::memcpy(addr.sun_path, control_socket.data(), control_socket.size());
    UniqueFd sock(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!sock.valid()) {
        return Error(ErrorCode::kIo, Where(control_socket) + ": socket: " + strerror(errno));
    }
    HVKIT_RETURN_IF_ERROR(SetTimeouts(sock.get(), timeout).WithContext(Where(control_socket)));
    if (connect(sock.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
        ErrorCode code =
            errno == ENOENT || errno == ECONNREFUSED ? ErrorCode::kNotFound : ErrorCode::kIo;
        return Error(code, Where(control_socket) + ": connect: " + strerror(errno) +
                               " (is hvmm running with this control socket?)");
    }
    ssize_t sent =
        send(sock.get(), kFilterAttachRequest.data(), kFilterAttachRequest.size(), MSG_NOSIGNAL);
    if (sent != static_cast<ssize_t>(kFilterAttachRequest.size())) {
        return Error(ErrorCode::kIo,
                     Where(control_socket) + ": sending the request: " + strerror(errno));
    }
    std::string line;
    std::vector<UniqueFd> fds;
    HVKIT_RETURN_IF_ERROR(ReadResponse(sock.get(), line, fds).WithContext(Where(control_socket)));
    HVKIT_ASSIGN_OR_RETURN(uint64_t region_size, ParseAttachResponse(line, control_socket));
    if (fds.size() != 3) {
        return Error(ErrorCode::kRefused,
                     Where(control_socket) + ": hvmm passed " + std::to_string(fds.size()) +
                         " fds with its response; filter-attach passes exactly 3 (region "
                         "memfd, doorbell eventfd, interrupt eventfd)");
    }
    RegionFds out;
    out.region = std::move(fds[0]);
    out.doorbell = std::move(fds[1]);
    out.interrupt = std::move(fds[2]);
    out.region_size = region_size;
    HVKIT_RETURN_IF_ERROR(CheckPassedFds(out, control_socket));
    out.control = std::move(sock);  // kept: its end is hvmm's exit
    return out;
}

}  // namespace hvkit::filterd
