#include "hvkit/package/input.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace hvkit {

PackageInput::PackageInput(std::string name, int fd, bool owns_fd, std::string_view bytes)
    : name_(std::move(name)), fd_(fd), owns_fd_(owns_fd), bytes_(bytes) {}

PackageInput::PackageInput(PackageInput&& other) noexcept
    : name_(std::move(other.name_)),
      fd_(other.fd_),
      owns_fd_(other.owns_fd_),
      bytes_(other.bytes_),
      offset_(other.offset_),
      buffer_(std::move(other.buffer_)),
      bytes_read_(other.bytes_read_) {
    other.fd_ = -1;
    other.owns_fd_ = false;
}

PackageInput::~PackageInput() {
    if (owns_fd_ && fd_ >= 0) close(fd_);
}

Result<PackageInput> PackageInput::OpenFile(const std::string& path) {
    int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT) {
            return Error(ErrorCode::kNotFound, "cannot open package " + path + ": no such file");
        }
        return Error(ErrorCode::kIo, "cannot open package " + path + ": " + strerror(errno));
    }
    return PackageInput(path, fd, true, {});
}

PackageInput PackageInput::FromFd(int fd, std::string name) {
    return PackageInput(std::move(name), fd, false, {});
}

PackageInput PackageInput::FromBytes(std::string_view bytes, std::string name) {
    return PackageInput(std::move(name), -1, false, bytes);
}

Result<std::string_view> PackageInput::Read() {
    if (fd_ < 0) {
        size_t n = std::min(kChunkBytes, bytes_.size() - offset_);
        std::string_view chunk = bytes_.substr(offset_, n);
        offset_ += n;
        bytes_read_ += n;
        return chunk;
    }
    buffer_.resize(kChunkBytes);
    for (;;) {
        ssize_t n = read(fd_, buffer_.data(), buffer_.size());
        if (n < 0) {
            if (errno == EINTR) continue;
            return Error(ErrorCode::kIo, "cannot read package " + name_ + ": " + strerror(errno));
        }
        bytes_read_ += static_cast<uint64_t>(n);
        return std::string_view(buffer_.data(), static_cast<size_t>(n));
    }
}

}  // namespace hvkit
