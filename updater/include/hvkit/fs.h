// File primitives with the crash discipline hvkit relies on: a write is staged
// in a temporary file beside its target, fsynced, renamed into place, and the
// directory fsynced, so a reader sees the old or the new file, never a mix.
// Every call that changes the disk goes through a FileSystem
// (hvkit/file_system.h; the real one unless a test passes its own).
#pragma once

#include <sys/types.h>
#include <optional>
#include <string>
#include <string_view>

#include "hvkit/file_system.h"
#include "hvkit/status.h"

namespace hvkit {

// Owns a file descriptor and closes it when it goes out of scope.
class UniqueFd {
  public:
    explicit UniqueFd(int fd = -1) : fd_(fd) {}
    ~UniqueFd();
    UniqueFd(UniqueFd&& other) noexcept : fd_(other.release()) {}
    UniqueFd& operator=(UniqueFd&& other) noexcept;
    UniqueFd(const UniqueFd&) = delete;
    UniqueFd& operator=(const UniqueFd&) = delete;

    int get() const { return fd_; }
    bool valid() const { return fd_ >= 0; }
    // Gives up ownership without closing.
    int release() {
        int fd = fd_;
        fd_ = -1;
        return fd;
    }

  private:
    int fd_;
};

// Reads a whole file, refusing files larger than (max_bytes).
Result<std::string> ReadFile(const std::string& path, size_t max_bytes);

// Atomically and durably replaces (path) with (contents), file mode (mode):
// "(path).tmp.PID" written and fsynced, renamed over (path), the directory
// fsynced. On failure the temporary file is removed and (path) is as it was.
Status WriteFileAtomic(const std::string& path, std::string_view contents, mode_t mode = 0644,
                       FileSystem& fs = RealFileSystem());

// Points the symlink (link) at (target), atomically: a new symlink
// "(link).new" is renamed over (link) and the directory fsynced, so a reader
// (and a crash) sees the old target or the new one, never none. Both the
// release store's `current` and the guest extensions' links switch so.
Status ReplaceSymlink(const std::string& link, const std::string& target,
                      FileSystem& fs = RealFileSystem());

// The target of the symlink (link); none when (link) does not exist.
Result<std::optional<std::string>> ReadSymlink(const std::string& link);

// An exclusive flock(2) on (path), created (mode 0600) if missing, held for
// as long as the returned fd is open (a process that dies releases it).
// With (wait) it blocks until the lock is free; without, another holder is
// kConflict at once. Locks between open file descriptions, so two opens in
// one process exclude each other as two processes do.
Result<UniqueFd> LockFile(const std::string& path, bool wait);

// fsync of a directory, so a rename or create inside it is durable.
Status SyncDirectory(const std::string& dir, FileSystem& fs = RealFileSystem());

// mkdir -p, durably: each directory it creates has its parent fsynced, so
// a power cut cannot take away a directory a caller has filled and synced.
Status MakeDirectories(const std::string& path, FileSystem& fs = RealFileSystem());

// rm -rf that does not follow symlinks; a missing path is not an error. Not
// durable by itself: the caller fsyncs the parent when it must be.
Status RemoveTree(const std::string& path, FileSystem& fs = RealFileSystem());

bool PathExists(const std::string& path);

// The directory part of (path) ("." when there is none).
std::string DirName(const std::string& path);

// A new empty directory "(parent)/(prefix)XXXXXX".
Result<std::string> MakeTempDirectory(const std::string& parent, const std::string& prefix,
                                      FileSystem& fs = RealFileSystem());

}  // namespace hvkit
