// The handover socket: framed JSON messages, each with its fds.
#include <poll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "takeover/takeover.h"

namespace hvkit::hvmm {

namespace {

constexpr uint32_t kMagic = 0x48564d54;  // "HVMT"

struct FrameHeader {
    uint32_t magic;
    uint32_t body_bytes;
    uint32_t fd_count;
};

int64_t NowMs() {
    return MonotonicNs() / 1000000;
}

// Waits until (fd) is readable or (deadline_ms) passes.
Status WaitReadable(int fd, int64_t deadline_ms) {
    for (;;) {
        int64_t left = deadline_ms - NowMs();
        if (left <= 0) return Error(ErrorCode::kNetwork, "the other hvmm did not answer in time");
        pollfd p{fd, POLLIN, 0};
        int n = poll(&p, 1, static_cast<int>(left));
        if (n < 0 && errno == EINTR) continue;
        if (n < 0)
            return Error(ErrorCode::kIo, std::string("handover socket: poll: ") + strerror(errno));
        if (n == 1) return Status::Ok();
    }
}

Status WriteAll(int fd, const char* data, size_t size) {
    while (size > 0) {
        ssize_t n = send(fd, data, size, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            return Error(ErrorCode::kIo, std::string("handover socket: the other hvmm is gone: ") +
                                             strerror(errno));
        }
        data += n;
        size -= static_cast<size_t>(n);
    }
    return Status::Ok();
}

}  // namespace

std::string HandoverMessage::type() const {
    const Json* t = body.is_object() ? body.Find("type") : nullptr;
    return t != nullptr && t->is_string() ? t->as_string() : std::string();
}

Status HandoverChannel::Send(const Json& body, const std::vector<int>& fds) {
    if (fds.size() > kMaxFds) {
        return Error(ErrorCode::kTooLarge,
                     "a handover message carries at most " + std::to_string(kMaxFds) + " fds");
    }
    std::string text = DumpJson(body, 0);
    if (text.size() > kMaxBody) {
        return Error(ErrorCode::kTooLarge, "handover message of " + std::to_string(text.size()) +
                                               " bytes is over the protocol's limit");
    }
    FrameHeader header{kMagic, static_cast<uint32_t>(text.size()),
                       static_cast<uint32_t>(fds.size())};
    iovec iov{&header, sizeof header};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    std::vector<char> control(CMSG_SPACE(sizeof(int) * kMaxFds));
    if (!fds.empty()) {
        msg.msg_control = control.data();
        msg.msg_controllen = CMSG_SPACE(sizeof(int) * fds.size());
        cmsghdr* c = CMSG_FIRSTHDR(&msg);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
        memcpy(CMSG_DATA(c), fds.data(), sizeof(int) * fds.size());
    }
    ssize_t n;
    do {
        n = sendmsg(fd_.get(), &msg, MSG_NOSIGNAL);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
        if (errno == EPIPE || errno == ECONNRESET) peer_closed_ = true;
        return Error(ErrorCode::kIo,
                     std::string("handover socket: the other hvmm is gone: ") + strerror(errno));
    }
    // A stream socket takes a 12-byte header whole or not at all in practice;
    // finish it plainly if not (the fds went with its first byte).
    HVKIT_RETURN_IF_ERROR(WriteAll(fd_.get(), reinterpret_cast<const char*>(&header) + n,
                                   sizeof header - static_cast<size_t>(n)));
    return WriteAll(fd_.get(), text.data(), text.size());
}

Result<HandoverMessage> HandoverChannel::Receive(std::chrono::milliseconds timeout) {
    int64_t deadline = NowMs() + timeout.count();
    HandoverMessage message;
    FrameHeader header{};
    size_t got = 0;
    std::vector<char> control(CMSG_SPACE(sizeof(int) * kMaxFds));
    while (got < sizeof header) {
        HVKIT_RETURN_IF_ERROR(WaitReadable(fd_.get(), deadline));
        iovec iov{reinterpret_cast<char*>(&header) + got, sizeof header - got};
        msghdr msg{};
        msg.msg_iov = &iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control.data();
        msg.msg_controllen = control.size();
        ssize_t n = recvmsg(fd_.get(), &msg, MSG_CMSG_CLOEXEC);
        if (n < 0 && errno == EINTR) continue;
        // A peer that dies with bytes of ours unread resets the connection:
        // for us that is its end closing, as a plain EOF is.
        if (n < 0 && errno == ECONNRESET) n = 0;
        if (n < 0) {
            return Error(ErrorCode::kIo, std::string("handover socket: ") + strerror(errno));
        }
        for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
            if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
            size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
            for (size_t i = 0; i < count; ++i) {
                int fd;
                memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
                message.fds.emplace_back(fd);
            }
        }
        if (msg.msg_flags & MSG_CTRUNC) {
            return Error(ErrorCode::kMalformed,
                         "handover message carries more than " + std::to_string(kMaxFds) + " fds");
        }
        if (n == 0) {
            if (got == 0) peer_closed_ = true;
            return Error(ErrorCode::kNetwork, got == 0
                                                  ? "the other hvmm closed the handover socket"
                                                  : "the handover socket closed inside a message");
        }
        got += static_cast<size_t>(n);
    }
    if (header.magic != kMagic || header.body_bytes > kMaxBody ||
        header.fd_count != message.fds.size()) {
        return Error(ErrorCode::kMalformed,
                     "handover message header is broken (magic, size or fd count)");
    }
    std::string text(header.body_bytes, '\0');
    size_t done = 0;
    while (done < text.size()) {
        HVKIT_RETURN_IF_ERROR(WaitReadable(fd_.get(), deadline));
        ssize_t n = recv(fd_.get(), text.data() + done, text.size() - done, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            return Error(ErrorCode::kNetwork, "the handover socket closed inside a message");
        }
        done += static_cast<size_t>(n);
    }
    HVKIT_ASSIGN_OR_RETURN(
        message.body,
        ParseJson(text, "handover message", JsonLimits{.max_depth = 16, .max_bytes = kMaxBody}));
    if (message.type().empty()) {
        return Error(ErrorCode::kMalformed, "handover message has no \"type\"");
    }
    return message;
}

Status SendNamedFds(HandoverChannel& channel, Json body, const std::vector<SharedFd>& fds) {
    Json names = Json::MakeArray();
    std::vector<int> raw;
    for (const SharedFd& s : fds) {
        names.Push(Json(s.name));
        raw.push_back(s.fd);
    }
    body["fds"] = std::move(names);
    return channel.Send(body, raw);
}

void SendRefusal(HandoverChannel& channel, const Status& why) {
    Json body = Json::MakeObject();
    body["type"] = Json("refused");
    body["error"] = Json(why.message());
    (void)channel.Send(body);
}

Result<HandoverMessage> ReceiveExpected(HandoverChannel& channel, std::string_view want,
                                        std::chrono::milliseconds timeout) {
    HVKIT_ASSIGN_OR_RETURN(HandoverMessage m, channel.Receive(timeout));
    if (m.type() == "refused") {
        const Json* error = m.body.Find("error");
        return Error(ErrorCode::kRefused,
                     "the other hvmm refused: " + (error != nullptr && error->is_string()
                                                       ? error->as_string()
                                                       : std::string("(no reason)")));
    }
    if (m.type() != want) {
        return Error(ErrorCode::kMalformed,
                     "expected a \"" + std::string(want) + "\" message, got \"" + m.type() + "\"");
    }
    return m;
}

Result<HandoverFds> TakeNamedFds(HandoverMessage& message) {
    const Json* names = message.body.Find("fds");
    if (names == nullptr || !names->is_array() || names->as_array().size() != message.fds.size()) {
        return Error(ErrorCode::kMalformed,
                     "handover \"" + message.type() + "\" names " +
                         std::to_string(
                             names != nullptr && names->is_array() ? names->as_array().size() : 0) +
                         " fds but carries " + std::to_string(message.fds.size()));
    }
    HandoverFds fds;
    for (size_t i = 0; i < message.fds.size(); ++i) {
        const Json& name = names->as_array()[i];
        if (!name.is_string()) return Error(ErrorCode::kMalformed, "handover fd name is not text");
        HVKIT_RETURN_IF_ERROR(fds.Add(name.as_string(), std::move(message.fds[i])));
    }
    return fds;
}

}  // namespace hvkit::hvmm
