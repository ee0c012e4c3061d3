// Opening a raw disk image for virtio-blk: one writer at a time (flock).
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "virtio/virtio.h"

namespace hvkit::hvmm {

namespace {

// The checks an image passes however it was opened: its type and size.
Result<DiskImage> CheckedImage(UniqueFd fd, const std::string& path, bool read_only) {
    DiskImage image;
    image.path = path;
    image.read_only = read_only;
    image.fd = std::move(fd);
    struct stat st;
    if (fstat(image.fd.get(), &st) != 0) {
        return Error(ErrorCode::kIo, "cannot stat disk " + path + ": " + strerror(errno));
    }
    if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode)) {
        return Error(ErrorCode::kRefused,
                     "disk " + path + " is neither a regular file nor a block device");
    }
    off_t size = lseek(image.fd.get(), 0, SEEK_END);
    if (size < 0) {
        return Error(ErrorCode::kIo,
                     "cannot find the size of disk " + path + ": " + strerror(errno));
    }
    if (size == 0 || size % 512 != 0) {
        return Error(ErrorCode::kRefused,
                     "disk " + path + " has " + std::to_string(size) +
                         " bytes: a raw image must be a non-empty multiple of 512 bytes");
    }
    image.sectors = static_cast<uint64_t>(size) / 512;
    return image;
}

}  // namespace

Result<DiskImage> OpenDiskImage(const std::string& path, bool read_only) {
    UniqueFd fd(open(path.c_str(), (read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC));
    if (!fd.valid()) {
        int err = errno;
        std::string hint = err == EACCES && !read_only ? " (add ,ro to attach it read-only)" : "";
        return Error(ErrorCode::kIo, "cannot open disk " + path + ": " + strerror(err) + hint);
    }
    // Two VMs writing one image corrupt it; a reader beside a writer sees
    // garbage. Shared for read-only, exclusive otherwise.
    if (flock(fd.get(), (read_only ? LOCK_SH : LOCK_EX) | LOCK_NB) != 0) {
        int err = errno;
        return Error(ErrorCode::kConflict,
                     "disk " + path + " is in use by another process (flock): " + strerror(err));
    }
    return CheckedImage(std::move(fd), path, read_only);
}

Result<DiskImage> AdoptDiskImage(UniqueFd fd, const std::string& path, bool read_only) {
    int flags = fcntl(fd.get(), F_GETFL);
    if (flags < 0 || (flags & O_ACCMODE) != (read_only ? O_RDONLY : O_RDWR)) {
        return Error(ErrorCode::kMalformed, "handed-over disk " + path + " is not open " +
                                                (read_only ? "read-only" : "read-write"));
    }
    return CheckedImage(std::move(fd), path, read_only);
}

}  // namespace hvkit::hvmm
