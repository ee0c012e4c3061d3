#include "staging_tree.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "hvkit/fs.h"

namespace hvkit::internal {

namespace {

Status Errno(ErrorCode code, const std::string& what) {
    return Error(code, what + ": " + strerror(errno));
}

}  // namespace

StagingTree::StagingTree(std::string dest, std::string staging, int staging_fd,
                         ComponentSet components, FileSystem& fs)
    : fs_(fs),
      dest_(std::move(dest)),
      staging_(std::move(staging)),
      staging_fd_(staging_fd),
      components_(std::move(components)) {}

Result<std::unique_ptr<StagingTree>> StagingTree::Create(const std::string& dest_arg,
                                                         const ComponentSet& components,
                                                         FileSystem& fs) {
    std::string dest = dest_arg;
    while (dest.size() > 1 && dest.back() == '/') dest.pop_back();
    if (dest.empty()) return Error(ErrorCode::kInvalidArgument, "extract: destination is empty");
    if (PathExists(dest)) {
        return Error(ErrorCode::kConflict,
                     "extract: destination " + dest +
                         " already exists: extract into a new directory (packages are never "
                         "merged into or over existing files)");
    }
    std::string parent = DirName(dest);
    std::string base = dest.substr(dest.find_last_of('/') + 1);
    struct stat st;
    if (stat(parent.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
        return Error(ErrorCode::kNotFound,
                     "extract: the parent directory " + parent + " of " + dest + " does not exist");
    }
    HVKIT_ASSIGN_OR_RETURN(std::string staging,
                           MakeTempDirectory(parent, "." + base + ".staging-", fs));
    int fd = open(staging.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        Status st_err = Errno(ErrorCode::kIo, "extract: cannot open " + staging);
        (void)RemoveTree(staging, fs);
        return st_err;
    }
    return std::unique_ptr<StagingTree>(new StagingTree(dest, staging, fd, components, fs));
}

StagingTree::~StagingTree() {
    if (file_fd_ >= 0) close(file_fd_);
    if (staging_fd_ >= 0) close(staging_fd_);
    if (!committed_) (void)RemoveTree(staging_, fs_);
}

Status StagingTree::Fail(const std::string& what, const std::string& path) const {
    return Errno(ErrorCode::kIo, "extract: cannot " + what + " " + staging_ + "/" + path);
}

Status StagingTree::OnManifest(const PackageInfo&) {
    return Status::Ok();
}

Status StagingTree::MakeParents(const std::string& path) {
    // Paths passed PathRuleViolation and the staging tree holds only what we
    // created, so no component can be a symlink.
    for (size_t slash = path.find('/'); slash != std::string::npos;
         slash = path.find('/', slash + 1)) {
        std::string dir = path.substr(0, slash);
        if (dirs_.count(dir)) continue;
        if (fs_.MakeDirectoryAt(staging_fd_, dir.c_str(), 0755) != 0 ||
            fs_.ChmodAt(staging_fd_, dir.c_str(), 0755) != 0) {
            return Fail("create directory", dir);
        }
        dirs_.insert(dir);
    }
    return Status::Ok();
}

Status StagingTree::BeginFile(const PackageFile& file) {
    skipping_ = !components_.empty() && !components_.count(file.component);
    if (skipping_) return Status::Ok();
    HVKIT_RETURN_IF_ERROR(MakeParents(file.path));
    file_fd_ = fs_.OpenAt(staging_fd_, file.path.c_str(),
                          O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (file_fd_ < 0) return Fail("create", file.path);
    return Status::Ok();
}

Status StagingTree::WriteData(const void* data, size_t size) {
    if (skipping_) return Status::Ok();
    const char* p = static_cast<const char*>(data);
    while (size > 0) {
        ssize_t n = fs_.Write(file_fd_, p, size);
        if (n < 0) {
            if (errno == EINTR) continue;
            return Errno(ErrorCode::kIo, "extract: cannot write into " + staging_);
        }
        p += n;
        size -= static_cast<size_t>(n);
    }
    return Status::Ok();
}

Status StagingTree::EndFile(const PackageFile& file) {
    if (skipping_) return Status::Ok();
    // After the data: writing would clear setuid/setgid bits.
    if (fs_.Chmod(file_fd_, file.mode) != 0) return Fail("set the mode of", file.path);
    // Start writeback now and fsync in Commit(): one journal commit then
    // covers many files instead of one commit and device flush per file.
    (void)sync_file_range(file_fd_, 0, 0, SYNC_FILE_RANGE_WRITE);
    int fd = file_fd_;
    file_fd_ = -1;
    if (close(fd) != 0) return Fail("close", file.path);
    written_.push_back(file.path);
    return Status::Ok();
}

Status StagingTree::Commit() {
    for (const auto& path : written_) {
        int fd = openat(staging_fd_, path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0) return Fail("open", path);
        int r = fs_.Sync(fd);
        close(fd);
        if (r != 0) return Fail("fsync", path);
    }
    // Deepest first, so each directory's entries are durable before its parent's.
    for (auto it = dirs_.rbegin(); it != dirs_.rend(); ++it) {
        int fd = openat(staging_fd_, it->c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0) return Fail("open directory", *it);
        int r = fs_.Sync(fd);
        close(fd);
        if (r != 0) return Fail("fsync directory", *it);
    }
    // Directories are 0755 whatever the umask (mkdtemp made this one 0700).
    if (fs_.Chmod(staging_fd_, 0755) != 0 || fs_.Sync(staging_fd_) != 0) {
        return Errno(ErrorCode::kIo, "extract: cannot finish " + staging_);
    }
    int r = fs_.RenameAt(AT_FDCWD, staging_.c_str(), AT_FDCWD, dest_.c_str(), RENAME_NOREPLACE);
    if (r != 0 && errno == EINVAL && !PathExists(dest_)) {
        // A filesystem without RENAME_NOREPLACE (9p): plain rename, which
        // still never replaces a non-empty directory.
        r = fs_.RenameAt(AT_FDCWD, staging_.c_str(), AT_FDCWD, dest_.c_str());
    }
    if (r != 0) {
        if (errno == EEXIST || errno == ENOTEMPTY) {
            return Error(ErrorCode::kConflict, "extract: destination " + dest_ +
                                                   " appeared while extracting; nothing was "
                                                   "changed");
        }
        return Errno(ErrorCode::kIo, "extract: cannot rename " + staging_ + " to " + dest_);
    }
    committed_ = true;
    return SyncDirectory(DirName(dest_), fs_);
}

}  // namespace hvkit::internal
