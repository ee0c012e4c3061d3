#include "hvkit/fs.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <vector>

namespace hvkit {

namespace {

Status Errno(const std::string& what, const std::string& path) {
    return Error(ErrorCode::kIo, what + " " + path + ": " + strerror(errno));
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

Status SyncDirectory(const std::string& dir) {
    UniqueFd fd(open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (fd.get() < 0) return Errno("cannot open directory", dir);
    if (fsync(fd.get()) != 0) return Errno("cannot fsync directory", dir);
    return Status::Ok();
}

Status WriteFileAtomic(const std::string& path, std::string_view contents, mode_t mode) {
    std::string tmp = path + ".tmp." + std::to_string(getpid());
    {
        UniqueFd fd(open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode));
        if (fd.get() < 0) return Errno("cannot create", tmp);
        fchmod(fd.get(), mode);  // umask must not widen or narrow the requested mode
        size_t done = 0;
        while (done < contents.size()) {
            ssize_t n = write(fd.get(), contents.data() + done, contents.size() - done);
            if (n < 0) {
                if (errno == EINTR) continue;
                Status st = Errno("cannot write", tmp);
                unlink(tmp.c_str());
                return st;
            }
            done += static_cast<size_t>(n);
        }
        if (fsync(fd.get()) != 0) {
            Status st = Errno("cannot fsync", tmp);
            unlink(tmp.c_str());
            return st;
        }
    }
    if (rename(tmp.c_str(), path.c_str()) != 0) {
        Status st = Errno("cannot rename into place", path);
        unlink(tmp.c_str());
        return st;
    }
    return SyncDirectory(DirName(path));
}

Status ReplaceSymlink(const std::string& link, const std::string& target) {
    std::string tmp = link + ".new";
    if (unlink(tmp.c_str()) != 0 && errno != ENOENT) return Errno("cannot remove", tmp);
    if (symlink(target.c_str(), tmp.c_str()) != 0) return Errno("cannot create symlink", tmp);
    if (rename(tmp.c_str(), link.c_str()) != 0) return Errno("cannot switch", link);
    return SyncDirectory(DirName(link));
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

Status MakeDirectories(const std::string& path) {
    std::error_code ec;
    std::filesystem::create_directories(path, ec);
    if (ec) return Error(ErrorCode::kIo, "cannot create directory " + path + ": " + ec.message());
    return Status::Ok();
}

Status RemoveTree(const std::string& path) {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
    if (ec) return Error(ErrorCode::kIo, "cannot remove " + path + ": " + ec.message());
    return Status::Ok();
}

bool PathExists(const std::string& path) {
    struct stat st;
    return lstat(path.c_str(), &st) == 0;
}

Result<std::string> MakeTempDirectory(const std::string& parent, const std::string& prefix) {
    std::string templ = parent + "/" + prefix + "XXXXXX";
    std::vector<char> buf(templ.begin(), templ.end());
    buf.push_back('\0');
    if (mkdtemp(buf.data()) == nullptr)
        return Errno("cannot create a temporary directory in", parent);
    return std::string(buf.data());
}

}  // namespace hvkit
