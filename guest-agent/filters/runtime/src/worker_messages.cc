#include "worker_messages.h"

#include <sys/socket.h>
#include <sys/uio.h>

#include <cerrno>
#include <cstring>

namespace hvkit::filter_runtime {

Status SendMessage(int fd, const void* header, size_t header_size, const uint8_t* bytes,
                   size_t length) {
    iovec parts[2] = {{const_cast<void*>(header), header_size},
                      {const_cast<uint8_t*>(bytes), length}};
    msghdr message{};
    message.msg_iov = parts;
    message.msg_iovlen = length == 0 ? 1 : 2;
    ssize_t n = sendmsg(fd, &message, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        return Error(ErrorCode::kTooLarge, "chain worker socket: full");
    }
    if (n != static_cast<ssize_t>(header_size + length)) {
        return Error(ErrorCode::kIo, std::string("chain worker socket: send: ") +
                                         (n < 0 ? strerror(errno) : "short datagram"));
    }
    return Status::Ok();
}

}  // namespace hvkit::filter_runtime
