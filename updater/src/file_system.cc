// The real file system: each FileSystem call is its system call.
#include "hvkit/file_system.h"

#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

namespace hvkit {

namespace {

class RealFs final : public FileSystem {
  public:
    int OpenAt(int dir_fd, const char* path, int flags, mode_t mode) override {
        return openat(dir_fd, path, flags, mode);
    }
    ssize_t Write(int fd, const void* data, size_t size) override { return write(fd, data, size); }
    ssize_t PWrite(int fd, const void* data, size_t size, off_t offset) override {
        return pwrite(fd, data, size, offset);
    }
    int Truncate(int fd, off_t size) override { return ftruncate(fd, size); }
    int Sync(int fd) override { return fsync(fd); }
    int Chmod(int fd, mode_t mode) override { return fchmod(fd, mode); }
    int ChmodAt(int dir_fd, const char* path, mode_t mode) override {
        return fchmodat(dir_fd, path, mode, 0);
    }
    int RenameAt(int from_dir_fd, const char* from, int to_dir_fd, const char* to,
                 unsigned flags) override {
        return renameat2(from_dir_fd, from, to_dir_fd, to, flags);
    }
    int UnlinkAt(int dir_fd, const char* path, int flags) override {
        return unlinkat(dir_fd, path, flags);
    }
    int MakeDirectoryAt(int dir_fd, const char* path, mode_t mode) override {
        return mkdirat(dir_fd, path, mode);
    }
    int SymlinkAt(const char* target, int dir_fd, const char* link) override {
        return symlinkat(target, dir_fd, link);
    }
};

}  // namespace

FileSystem& RealFileSystem() {
    static RealFs* fs = new RealFs();  // never destroyed: used until exit
    return *fs;
}

}  // namespace hvkit
