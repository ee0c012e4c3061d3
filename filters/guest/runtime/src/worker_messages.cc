#include "worker_messages.h"

#include <sys/socket.h>

#include <cerrno>
#include <cstring>

namespace hvkit::filter_runtime {

void MessageBuilder::Add(const void* header, size_t header_size, const uint8_t* data,
                         size_t length) {
    const auto* head = static_cast<const uint8_t*>(header);
    bytes_.insert(bytes_.end(), head, head + header_size);
    if (length != 0) bytes_.insert(bytes_.end(), data, data + length);
    ++count_;
}

const std::vector<uint8_t>& MessageBuilder::Finish() {
    std::memcpy(bytes_.data(), &count_, sizeof count_);
    return bytes_;
}

Status SendMessage(int fd, const std::vector<uint8_t>& message) {
    ssize_t n = send(fd, message.data(), message.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        return Error(ErrorCode::kTooLarge, "chain worker socket: full");
    }
    if (n != static_cast<ssize_t>(message.size())) {
        return Error(ErrorCode::kIo, std::string("chain worker socket: send: ") +
                                         (n < 0 ? strerror(errno) : "short datagram"));
    }
    return Status::Ok();
}

}  // namespace hvkit::filter_runtime
