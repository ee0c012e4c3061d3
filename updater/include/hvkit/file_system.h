// The file system seam: every call hvkit's durable-write paths make that
// changes what a power cut leaves on disk (create, write, truncate, fsync,
// rename, unlink, mkdir, symlink, chmod) goes through a FileSystem, so a
// test can put a fault-injecting one in its place (tests/support/fault_fs.h:
// writes not yet synced are dropped at a simulated power cut, ENOSPC or EIO
// can be injected at any call). Production uses RealFileSystem().
//
// Each method is its POSIX namesake (the *at form, taking a directory fd or
// AT_FDCWD): same arguments, same result, errno set on failure, so callers
// keep their own error messages. Reads, stat, close and locks stay plain
// syscalls: they change nothing a power cut could lose.
#pragma once

#include <fcntl.h>
#include <sys/types.h>

namespace hvkit {

class FileSystem {
  public:
    virtual ~FileSystem() = default;

    // openat(2). Opening for write, creating or truncating is a call the
    // fault file system counts; a plain read-only open is not.
    virtual int OpenAt(int dir_fd, const char* path, int flags, mode_t mode = 0) = 0;
    // write(2) and pwrite(2).
    virtual ssize_t Write(int fd, const void* data, size_t size) = 0;
    virtual ssize_t PWrite(int fd, const void* data, size_t size, off_t offset) = 0;
    // ftruncate(2).
    virtual int Truncate(int fd, off_t size) = 0;
    // fsync(2) of a file (its data and size become durable) or of a
    // directory (its entries: creates, renames, unlinks, symlinks).
    virtual int Sync(int fd) = 0;
    // fchmod(2) and fchmodat(2).
    virtual int Chmod(int fd, mode_t mode) = 0;
    virtual int ChmodAt(int dir_fd, const char* path, mode_t mode) = 0;
    // renameat2(2); (flags) 0 is rename(2).
    virtual int RenameAt(int from_dir_fd, const char* from, int to_dir_fd, const char* to,
                         unsigned flags = 0) = 0;
    // unlinkat(2); AT_REMOVEDIR in (flags) removes an empty directory.
    virtual int UnlinkAt(int dir_fd, const char* path, int flags = 0) = 0;
    // mkdirat(2).
    virtual int MakeDirectoryAt(int dir_fd, const char* path, mode_t mode) = 0;
    // symlinkat(2): a new symlink (link) whose target is (target).
    virtual int SymlinkAt(const char* target, int dir_fd, const char* link) = 0;
};

// The system calls themselves; lives for the whole process.
FileSystem& RealFileSystem();

}  // namespace hvkit
