#include "partial_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "hvkit/fs.h"

namespace hvkit::net {

namespace {

Status Errno(const std::string& what, const std::string& path) {
    return Error(ErrorCode::kIo, what + " " + path + ": " + strerror(errno));
}

}  // namespace

Result<PartialFile> PartialFile::Open(const std::string& path) {
    bool created = true;
    int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0 && errno == EEXIST) {
        created = false;
        fd = open(path.c_str(), O_WRONLY | O_CLOEXEC);
    }
    if (fd < 0) return Errno("cannot open download destination", path);
    struct stat st;
    if (fstat(fd, &st) != 0) {
        Status status = Errno("cannot stat download destination", path);
        close(fd);
        return status;
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return Error(ErrorCode::kInvalidArgument,
                     "download destination " + path + " is not a regular file");
    }
    return PartialFile(path, fd, st.st_size, created);
}

PartialFile::PartialFile(PartialFile&& other) noexcept
    : path_(std::move(other.path_)), fd_(other.fd_), size_(other.size_), created_(other.created_) {
    other.fd_ = -1;
}

PartialFile::~PartialFile() {
    if (fd_ >= 0) close(fd_);
}

void PartialFile::RemoveIfCreatedEmpty() {
    if (created_ && size_ == 0) unlink(path_.c_str());
}

Status PartialFile::Append(const char* data, size_t size) {
    while (size > 0) {
        ssize_t n = pwrite(fd_, data, size, size_);
        if (n < 0) {
            if (errno == EINTR) continue;
            return Errno("cannot write", path_);
        }
        data += n;
        size -= static_cast<size_t>(n);
        size_ += n;
    }
    return Status::Ok();
}

Status PartialFile::Truncate() {
    if (ftruncate(fd_, 0) != 0) return Errno("cannot truncate", path_);
    size_ = 0;
    return Status::Ok();
}

Status PartialFile::Sync() {
    if (fsync(fd_) != 0) return Errno("cannot fsync", path_);
    return SyncDirectory(DirName(path_));
}

}  // namespace hvkit::net
