// The FileSystem VFS: SQLite's default (unix) VFS with its writes, syncs,
// truncates, creates and deletes sent through a FileSystem.
//
// Each database file has two descriptors: the unix VFS's, for reads and
// POSIX locks, and one of ours, for writes and syncs through the
// FileSystem. Both name the same inode, so they see the same bytes. Closing
// any descriptor of a file drops every POSIX lock this process holds on it,
// so ours are shared per inode and closed only when the last SQLite file on
// that inode closes (the unix VFS defers its own closes for the same reason).
#include "file_system_vfs.h"

#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <map>
#include <memory>
#include <mutex>
#include <new>
#include <utility>

#include "hvkit/fs.h"

namespace hvkit::internal {

namespace {

// Our write descriptors, one per inode, with how many open files share it.
class SharedDescriptors {
  public:
    // The descriptor for the file at (path), opened through (fs) when no
    // open file has it yet (created when (create) and it is missing);
    // -1 with errno set on failure.
    int Acquire(FileSystem& fs, const char* path, bool create) {
        std::lock_guard<std::mutex> hold(mutex_);
        struct stat st;
        if (stat(path, &st) == 0) {
            auto it = open_.find({st.st_dev, st.st_ino});
            if (it != open_.end()) {
                ++it->second.users;
                return it->second.fd;
            }
        } else if (errno != ENOENT || !create) {
            return -1;
        }
        int flags = O_RDWR | O_CLOEXEC | (create ? O_CREAT : 0);
        int fd = fs.OpenAt(AT_FDCWD, path, flags, 0644);
        if (fd < 0) return -1;
        if (fstat(fd, &st) != 0) {
            int saved = errno;
            close(fd);
            errno = saved;
            return -1;
        }
        open_[{st.st_dev, st.st_ino}] = {fd, 1};
        return fd;
    }

    void Release(int fd) {
        std::lock_guard<std::mutex> hold(mutex_);
        for (auto it = open_.begin(); it != open_.end(); ++it) {
            if (it->second.fd != fd) continue;
            if (--it->second.users == 0) {
                close(fd);
                open_.erase(it);
            }
            return;
        }
    }

  private:
    struct Entry {
        int fd;
        int users;
    };
    std::mutex mutex_;
    std::map<std::pair<dev_t, ino_t>, Entry> open_;
};

SharedDescriptors& Descriptors() {
    static SharedDescriptors* shared = new SharedDescriptors();
    return *shared;
}

// The VFS's state: the FileSystem and the wrapped default VFS.
struct VfsState {
    FileSystem* fs;
    sqlite3_vfs* real;
    std::string name;
    sqlite3_vfs vfs;
};

// Our sqlite3_file; the unix VFS's file follows it in the same allocation.
struct ShimFile {
    sqlite3_file base;
    FileSystem* fs;
    int fd;               // ours, for writes and syncs; -1 for a nameless temporary file
    bool sync_directory;  // a new journal or WAL: its directory is fsynced at its first sync
    std::string* directory;
};

sqlite3_file* Real(sqlite3_file* file) {
    return reinterpret_cast<sqlite3_file*>(reinterpret_cast<char*>(file) + sizeof(ShimFile));
}

ShimFile* Shim(sqlite3_file* file) {
    return reinterpret_cast<ShimFile*>(file);
}

VfsState* State(sqlite3_vfs* vfs) {
    return static_cast<VfsState*>(vfs->pAppData);
}

// The errno of this thread's last failed FileSystem call: SQLite's clean-up
// after a failure (a rollback's calls) may change errno before anyone asks.
thread_local int last_errno = 0;

// SQLITE_OK, or (failed) with errno recorded when (ok) is false.
int Outcome(bool ok, int failed) {
    if (!ok) last_errno = errno;
    return ok ? SQLITE_OK : failed;
}

int WriteError() {
    last_errno = errno;
    return errno == ENOSPC || errno == EDQUOT ? SQLITE_FULL : SQLITE_IOERR_WRITE;
}

int SyncDirectoryOf(FileSystem& fs, const std::string& dir) {
    UniqueFd fd(open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    return Outcome(fd.valid() && fs.Sync(fd.get()) == 0, SQLITE_IOERR_DIR_FSYNC);
}

int Close(sqlite3_file* file) {
    ShimFile* f = Shim(file);
    sqlite3_file* real = Real(file);
    int rc = real->pMethods ? real->pMethods->xClose(real) : SQLITE_OK;
    if (f->fd >= 0) Descriptors().Release(f->fd);
    delete f->directory;
    f->directory = nullptr;
    return rc;
}

int Read(sqlite3_file* file, void* data, int size, sqlite3_int64 offset) {
    sqlite3_file* real = Real(file);
    return real->pMethods->xRead(real, data, size, offset);
}

int Write(sqlite3_file* file, const void* data, int size, sqlite3_int64 offset) {
    ShimFile* f = Shim(file);
    if (f->fd < 0) return Real(file)->pMethods->xWrite(Real(file), data, size, offset);
    const char* p = static_cast<const char*>(data);
    size_t left = static_cast<size_t>(size);
    while (left > 0) {
        ssize_t n = f->fs->PWrite(f->fd, p, left, static_cast<off_t>(offset));
        if (n < 0) {
            if (errno == EINTR) continue;
            return WriteError();
        }
        if (n == 0) {
            errno = ENOSPC;
            return WriteError();
        }
        p += n;
        offset += n;
        left -= static_cast<size_t>(n);
    }
    return Outcome(true, SQLITE_OK);
}

int Truncate(sqlite3_file* file, sqlite3_int64 size) {
    ShimFile* f = Shim(file);
    if (f->fd < 0) return Real(file)->pMethods->xTruncate(Real(file), size);
    return Outcome(f->fs->Truncate(f->fd, static_cast<off_t>(size)) == 0, SQLITE_IOERR_TRUNCATE);
}

int Sync(sqlite3_file* file, int flags) {
    ShimFile* f = Shim(file);
    if (f->fd < 0) return Real(file)->pMethods->xSync(Real(file), flags);
    if (f->fs->Sync(f->fd) != 0) return Outcome(false, SQLITE_IOERR_FSYNC);
    if (f->sync_directory) {
        int rc = SyncDirectoryOf(*f->fs, *f->directory);
        if (rc != SQLITE_OK) return rc;
        f->sync_directory = false;
    }
    return SQLITE_OK;
}

int FileSize(sqlite3_file* file, sqlite3_int64* size) {
    return Real(file)->pMethods->xFileSize(Real(file), size);
}

int Lock(sqlite3_file* file, int level) {
    return Real(file)->pMethods->xLock(Real(file), level);
}

int Unlock(sqlite3_file* file, int level) {
    return Real(file)->pMethods->xUnlock(Real(file), level);
}

int CheckReservedLock(sqlite3_file* file, int* out) {
    return Real(file)->pMethods->xCheckReservedLock(Real(file), out);
}

int FileControl(sqlite3_file* file, int op, void* arg) {
    // Size hints and chunk sizes would let the unix VFS grow the file with
    // writes of its own, past the FileSystem; they are hints, so dropped.
    if (op == SQLITE_FCNTL_SIZE_HINT || op == SQLITE_FCNTL_CHUNK_SIZE) return SQLITE_OK;
    return Real(file)->pMethods->xFileControl(Real(file), op, arg);
}

int SectorSize(sqlite3_file* file) {
    return Real(file)->pMethods->xSectorSize(Real(file));
}

int DeviceCharacteristics(sqlite3_file* file) {
    return Real(file)->pMethods->xDeviceCharacteristics(Real(file));
}

int ShmMap(sqlite3_file* file, int region, int size, int extend, void volatile** out) {
    return Real(file)->pMethods->xShmMap(Real(file), region, size, extend, out);
}

int ShmLock(sqlite3_file* file, int offset, int n, int flags) {
    return Real(file)->pMethods->xShmLock(Real(file), offset, n, flags);
}

void ShmBarrier(sqlite3_file* file) {
    Real(file)->pMethods->xShmBarrier(Real(file));
}

int ShmUnmap(sqlite3_file* file, int delete_flag) {
    return Real(file)->pMethods->xShmUnmap(Real(file), delete_flag);
}

int Fetch(sqlite3_file* file, sqlite3_int64 offset, int size, void** out) {
    return Real(file)->pMethods->xFetch(Real(file), offset, size, out);
}

int Unfetch(sqlite3_file* file, sqlite3_int64 offset, void* p) {
    return Real(file)->pMethods->xUnfetch(Real(file), offset, p);
}

// Version 3 (the unix VFS's): shared memory for WAL, and memory-mapped reads.
constexpr sqlite3_io_methods kMethods = {
    .iVersion = 3,
    .xClose = Close,
    .xRead = Read,
    .xWrite = Write,
    .xTruncate = Truncate,
    .xSync = Sync,
    .xFileSize = FileSize,
    .xLock = Lock,
    .xUnlock = Unlock,
    .xCheckReservedLock = CheckReservedLock,
    .xFileControl = FileControl,
    .xSectorSize = SectorSize,
    .xDeviceCharacteristics = DeviceCharacteristics,
    .xShmMap = ShmMap,
    .xShmLock = ShmLock,
    .xShmBarrier = ShmBarrier,
    .xShmUnmap = ShmUnmap,
    .xFetch = Fetch,
    .xUnfetch = Unfetch,
};

int Open(sqlite3_vfs* vfs, const char* name, sqlite3_file* file, int flags, int* out_flags) {
    VfsState* state = State(vfs);
    ShimFile* f = new (file) ShimFile{{nullptr}, state->fs, -1, false, nullptr};
    sqlite3_file* real = Real(file);
    real->pMethods = nullptr;
    // Nameless temporary files (sorts, temp tables) are not durable state.
    bool routed =
        name != nullptr && (flags & SQLITE_OPEN_READWRITE) && !(flags & SQLITE_OPEN_DELETEONCLOSE);
    if (routed) {
        bool create = (flags & SQLITE_OPEN_CREATE) != 0;
        bool existed = access(name, F_OK) == 0;
        f->fd = Descriptors().Acquire(*state->fs, name, create);
        if (f->fd < 0 && existed && (errno == EACCES || errno == EROFS)) {
            // A file this process may only read: the unix VFS opens it
            // read-only (SQLITE_OPEN_READONLY in out_flags), and nothing is
            // written through the FileSystem.
        } else if (f->fd < 0) {
            return Outcome(false,
                           errno == ENOSPC || errno == EDQUOT ? SQLITE_FULL : SQLITE_CANTOPEN);
        }
        int kind = flags & (SQLITE_OPEN_MAIN_JOURNAL | SQLITE_OPEN_SUPER_JOURNAL | SQLITE_OPEN_WAL);
        f->sync_directory = !existed && kind != 0;  // as the unix VFS does
        f->directory = new std::string(DirName(name));
    }
    int rc = state->real->xOpen(state->real, name, real, flags, out_flags);
    if (rc != SQLITE_OK) {
        (void)Close(file);
        return rc;
    }
    f->base.pMethods = &kMethods;
    return SQLITE_OK;
}

int Delete(sqlite3_vfs* vfs, const char* name, int sync_dir) {
    VfsState* state = State(vfs);
    if (state->fs->UnlinkAt(AT_FDCWD, name) != 0) {
        return Outcome(false, errno == ENOENT ? SQLITE_IOERR_DELETE_NOENT : SQLITE_IOERR_DELETE);
    }
    return sync_dir ? SyncDirectoryOf(*state->fs, DirName(name)) : SQLITE_OK;
}

int Access(sqlite3_vfs* vfs, const char* name, int flags, int* out) {
    return State(vfs)->real->xAccess(State(vfs)->real, name, flags, out);
}

int FullPathname(sqlite3_vfs* vfs, const char* name, int size, char* out) {
    return State(vfs)->real->xFullPathname(State(vfs)->real, name, size, out);
}

void* DlOpen(sqlite3_vfs* vfs, const char* name) {
    return State(vfs)->real->xDlOpen(State(vfs)->real, name);
}

void DlError(sqlite3_vfs* vfs, int size, char* out) {
    State(vfs)->real->xDlError(State(vfs)->real, size, out);
}

void (*DlSym(sqlite3_vfs* vfs, void* handle, const char* symbol))(void) {
    return State(vfs)->real->xDlSym(State(vfs)->real, handle, symbol);
}

void DlClose(sqlite3_vfs* vfs, void* handle) {
    State(vfs)->real->xDlClose(State(vfs)->real, handle);
}

int Randomness(sqlite3_vfs* vfs, int size, char* out) {
    return State(vfs)->real->xRandomness(State(vfs)->real, size, out);
}

int Sleep(sqlite3_vfs* vfs, int microseconds) {
    return State(vfs)->real->xSleep(State(vfs)->real, microseconds);
}

int CurrentTime(sqlite3_vfs* vfs, double* out) {
    return State(vfs)->real->xCurrentTime(State(vfs)->real, out);
}

int GetLastError(sqlite3_vfs* vfs, int size, char* out) {
    return State(vfs)->real->xGetLastError(State(vfs)->real, size, out);
}

int CurrentTimeInt64(sqlite3_vfs* vfs, sqlite3_int64* out) {
    return State(vfs)->real->xCurrentTimeInt64(State(vfs)->real, out);
}

}  // namespace

int LastFileSystemError() {
    return last_errno;
}

void ClearFileSystemError() {
    last_errno = 0;
}

Result<std::string> FileSystemVfs(FileSystem& fs) {
    static std::mutex mutex;
    static auto* registered = new std::map<FileSystem*, std::unique_ptr<VfsState>>();
    std::lock_guard<std::mutex> hold(mutex);
    auto it = registered->find(&fs);
    if (it != registered->end()) return it->second->name;

    sqlite3_vfs* real = sqlite3_vfs_find(nullptr);
    if (real == nullptr) return Error(ErrorCode::kIo, "SQLite has no default VFS to wrap");
    auto state = std::make_unique<VfsState>();
    char name[64];
    snprintf(name, sizeof name, "hvkit-fs-%p", static_cast<void*>(&fs));
    state->fs = &fs;
    state->real = real;
    state->name = name;
    sqlite3_vfs& v = state->vfs;
    v = sqlite3_vfs{};
    v.iVersion = 2;
    v.szOsFile = static_cast<int>(sizeof(ShimFile)) + real->szOsFile;
    v.mxPathname = real->mxPathname;
    v.zName = state->name.c_str();
    v.pAppData = state.get();
    v.xOpen = Open;
    v.xDelete = Delete;
    v.xAccess = Access;
    v.xFullPathname = FullPathname;
    v.xDlOpen = DlOpen;
    v.xDlError = DlError;
    v.xDlSym = DlSym;
    v.xDlClose = DlClose;
    v.xRandomness = Randomness;
    v.xSleep = Sleep;
    v.xCurrentTime = CurrentTime;
    v.xGetLastError = GetLastError;
    v.xCurrentTimeInt64 = CurrentTimeInt64;
    int rc = sqlite3_vfs_register(&v, /*makeDflt=*/0);
    if (rc != SQLITE_OK) {
        return Error(ErrorCode::kIo,
                     std::string("cannot register SQLite VFS ") + name + ": " + sqlite3_errstr(rc));
    }
    std::string result = state->name;
    (*registered)[&fs] = std::move(state);
    return result;
}

}  // namespace hvkit::internal
