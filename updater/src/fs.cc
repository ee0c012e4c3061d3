#include "hvkit/fs.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <random>
#include <vector>

namespace hvkit {

namespace {

Status Errno(const std::string& what, const std::string& path) {
    return Error(ErrorCode::kIo, what + " " + path + ": " + strerror(errno));
}

// A uniform number in [0, n) for temporary names.
size_t RandomBelow(size_t n) {
    thread_local std::mt19937_64 gen{std::random_device{}()};
    return std::uniform_int_distribution<size_t>(0, n - 1)(gen);
}

}  // namespace

UniqueFd::~UniqueFd() {
    if (fd_ >= 0) close(fd_);
}

UniqueFd& UniqueFd::operator=(UniqueFd&& other) noexcept {
    if (this != &other) {
        if (fd_ >= 0) close(fd_);
        fd_ = other.release();
    }
    return *this;
}

Result<std::string> ReadFile(const std::string& path, size_t max_bytes) {
    UniqueFd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (fd.get() < 0) {
        if (errno == ENOENT)
            return Error(ErrorCode::kNotFound, "cannot open " + path + ": no such file");
        return Errno("cannot open", path);
    }
    std::string out;
    char buf[65536];
    for (;;) {
        ssize_t n = read(fd.get(), buf, sizeof buf);
        if (n < 0) {
            if (errno == EINTR) continue;
            return Errno("cannot read", path);
        }
        if (n == 0) break;
        if (out.size() + static_cast<size_t>(n) > max_bytes) {
            return Error(ErrorCode::kTooLarge, path + " is larger than the limit of " +
                                                   std::to_string(max_bytes) + " bytes");
        }
        out.append(buf, static_cast<size_t>(n));
    }
    return out;
}

std::string DirName(const std::string& path) {
    auto slash = path.find_last_of('/');
    if (slash == std::string::npos) return ".";
    if (slash == 0) return "/";
    return path.substr(0, slash);
}

Status SyncDirectory(const std::string& dir, FileSystem& fs) {
    UniqueFd fd(open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (fd.get() < 0) return Errno("cannot open directory", dir);
    if (fs.Sync(fd.get()) != 0) return Errno("cannot fsync directory", dir);
    return Status::Ok();
}

Status WriteFileAtomic(const std::string& path, std::string_view contents, mode_t mode,
                       FileSystem& fs) {
    std::string tmp = path + ".tmp." + std::to_string(getpid());
    auto fail = [&](const std::string& what, const std::string& name) {
        Status st = Errno(what, name);
        (void)fs.UnlinkAt(AT_FDCWD, tmp.c_str());
        return st;
    };
    {
        UniqueFd fd(
            fs.OpenAt(AT_FDCWD, tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode));
        if (fd.get() < 0) return Errno("cannot create", tmp);
        // umask must not widen or narrow the requested mode
        if (fs.Chmod(fd.get(), mode) != 0) return fail("cannot set the mode of", tmp);
        size_t done = 0;
        while (done < contents.size()) {
            ssize_t n = fs.Write(fd.get(), contents.data() + done, contents.size() - done);
            if (n < 0) {
                if (errno == EINTR) continue;
                return fail("cannot write", tmp);
            }
            done += static_cast<size_t>(n);
        }
        if (fs.Sync(fd.get()) != 0) return fail("cannot fsync", tmp);
    }
    if (fs.RenameAt(AT_FDCWD, tmp.c_str(), AT_FDCWD, path.c_str()) != 0) {
        return fail("cannot rename into place", path);
    }
    return SyncDirectory(DirName(path), fs);
}

Status ReplaceSymlink(const std::string& link, const std::string& target, FileSystem& fs) {
    std::string tmp = link + ".new";
    if (fs.UnlinkAt(AT_FDCWD, tmp.c_str()) != 0 && errno != ENOENT) {
        return Errno("cannot remove", tmp);
    }
    if (fs.SymlinkAt(target.c_str(), AT_FDCWD, tmp.c_str()) != 0) {
        return Errno("cannot create symlink", tmp);
    }
    if (fs.RenameAt(AT_FDCWD, tmp.c_str(), AT_FDCWD, link.c_str()) != 0) {
        return Errno("cannot switch", link);
    }
    return SyncDirectory(DirName(link), fs);
}

Result<std::optional<std::string>> ReadSymlink(const std::string& link) {
    char buf[4096];
    ssize_t n = readlink(link.c_str(), buf, sizeof buf);
    if (n < 0) {
        if (errno == ENOENT) return std::optional<std::string>();
        return Errno("cannot read symlink", link);
    }
    if (static_cast<size_t>(n) == sizeof buf) {
        return Error(ErrorCode::kTooLarge, "symlink " + link + " has a target over 4 KiB");
    }
    return std::optional<std::string>(std::string(buf, static_cast<size_t>(n)));
}

Result<UniqueFd> LockFile(const std::string& path, bool wait) {
    UniqueFd fd(open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
    if (!fd.valid()) return Errno("cannot open lock file", path);
    while (flock(fd.get(), LOCK_EX | (wait ? 0 : LOCK_NB)) != 0) {
        if (errno == EINTR) continue;
        if (errno == EWOULDBLOCK) {
            return Error(ErrorCode::kConflict, path + " is locked by another process");
        }
        return Errno("cannot lock", path);
    }
    return fd;
}

Status MakeDirectories(const std::string& path, FileSystem& fs) {
    // An existing directory (or a symlink to one) is done; anything else in
    // the way is an error.
    auto existing = [&]() -> std::optional<Status> {
        struct stat st;
        if (stat(path.c_str(), &st) != 0) return std::nullopt;
        if (S_ISDIR(st.st_mode)) return Status::Ok();
        return Error(ErrorCode::kIo,
                     "cannot create directory " + path + ": it exists and is not a directory");
    };
    if (path.empty()) return Status::Ok();
    if (auto done = existing()) return *done;
    std::string parent = DirName(path);
    if (parent != path) HVKIT_RETURN_IF_ERROR(MakeDirectories(parent, fs));
    if (fs.MakeDirectoryAt(AT_FDCWD, path.c_str(), 0755) != 0) {
        if (errno == EEXIST) {  // made meanwhile, by someone else
            if (auto done = existing()) return *done;
        }
        return Errno("cannot create directory", path);
    }
    return SyncDirectory(parent, fs);
}

Status RemoveTree(const std::string& path, FileSystem& fs) {
    struct stat st;
    if (lstat(path.c_str(), &st) != 0) {
        if (errno == ENOENT) return Status::Ok();
        return Errno("cannot remove", path);
    }
    if (S_ISDIR(st.st_mode)) {
        std::vector<std::string> names;
        {
            DIR* d = opendir(path.c_str());
            if (d == nullptr) return Errno("cannot remove", path);
            while (dirent* e = readdir(d)) {
                std::string name = e->d_name;
                if (name != "." && name != "..") names.push_back(name);
            }
            closedir(d);
        }
        for (const auto& name : names) HVKIT_RETURN_IF_ERROR(RemoveTree(path + "/" + name, fs));
    }
    if (fs.UnlinkAt(AT_FDCWD, path.c_str(), S_ISDIR(st.st_mode) ? AT_REMOVEDIR : 0) != 0 &&
        errno != ENOENT) {
        return Errno("cannot remove", path);
    }
    return Status::Ok();
}

bool PathExists(const std::string& path) {
    struct stat st;
    return lstat(path.c_str(), &st) == 0;
}

Result<std::string> MakeTempDirectory(const std::string& parent, const std::string& prefix,
                                      FileSystem& fs) {
    static constexpr char kLetters[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    for (int attempt = 0; attempt < 100; ++attempt) {
        std::string dir = parent + "/" + prefix;
        for (int i = 0; i < 6; ++i) dir += kLetters[RandomBelow(sizeof kLetters - 1)];
        if (fs.MakeDirectoryAt(AT_FDCWD, dir.c_str(), 0700) == 0) return dir;
        if (errno != EEXIST) break;
    }
    return Errno("cannot create a temporary directory in", parent);
}

}  // namespace hvkit
