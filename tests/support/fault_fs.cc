#include "fault_fs.h"

#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>

#include "hvkit/fs.h"

namespace hvkit::testing {

namespace {

std::string ProcFd(int fd) {
    return "/proc/self/fd/" + std::to_string(fd);
}

// What (dir_fd, path) names, for the trace.
std::string PathName(int dir_fd, const char* path) {
    if (dir_fd == AT_FDCWD || path[0] == '/') return path;
    auto dir = ReadSymlink(ProcFd(dir_fd));
    return (dir.ok() && *dir ? **dir : "?") + "/" + path;
}

std::string DescribeFd(const char* op, int fd) {
    auto name = ReadSymlink(ProcFd(fd));
    return std::string(op) + " " + (name.ok() && *name ? **name : "?");
}

}  // namespace

FaultFileSystem::FaultFileSystem(std::string root) : root_(std::move(root)) {
    Snapshot();
}

std::string FaultFileSystem::Describe(int n) const {
    if (n < 1 || static_cast<size_t>(n) > trace_.size()) return "";
    std::string text = trace_[static_cast<size_t>(n) - 1];
    // Paths relative to root read better in a test's trace.
    for (size_t at; (at = text.find(root_ + "/")) != std::string::npos;) {
        text.erase(at, root_.size() + 1);
    }
    return text;
}

void FaultFileSystem::FailCall(int n, int error, std::optional<Call> kind) {
    injection_ = Injection{n, error, kind};
}

void FaultFileSystem::CutPowerAtCall(int n) {
    cut_at_ = n;
}

bool FaultFileSystem::Admit(Call kind, std::string description) {
    ++calls_;
    int nth_of_kind = ++calls_of_kind_[kind];
    trace_.push_back(std::move(description));
    if (powered_off_ || (cut_at_ > 0 && calls_ >= cut_at_)) {
        powered_off_ = true;
        errno = EIO;
        return false;
    }
    if (injection_ &&
        (injection_->kind ? (*injection_->kind == kind && nth_of_kind == injection_->n)
                          : calls_ == injection_->n)) {
        errno = injection_->error;
        injection_.reset();
        return false;
    }
    return true;
}

size_t FaultFileSystem::NodeAt(int dir_fd, const char* path, bool fresh) {
    struct stat st;
    if (fstatat(dir_fd, path, &st, AT_SYMLINK_NOFOLLOW) != 0) {
        ADD_FAILURE() << "fault fs: cannot stat " << PathName(dir_fd, path);
        return root_node_;
    }
    return NodeOf(st, PathName(dir_fd, path), fresh);
}

size_t FaultFileSystem::NodeOf(const struct stat& st, const std::string& path, bool fresh) {
    Inode inode{st.st_dev, st.st_ino};
    auto it = live_.find(inode);
    if (it != live_.end() && !fresh) return it->second;
    Node node;
    node.mode = st.st_mode & 07777;
    if (S_ISDIR(st.st_mode)) {
        node.kind = Node::kDirectory;
    } else if (S_ISLNK(st.st_mode)) {
        node.kind = Node::kSymlink;  // its target is written with its entry
        auto target = ReadSymlink(path);
        if (target.ok() && *target) node.data = **target;
    }
    nodes_.push_back(std::move(node));
    live_[inode] = nodes_.size() - 1;
    return nodes_.size() - 1;
}

void FaultFileSystem::Snapshot() {
    nodes_.clear();
    live_.clear();
    root_node_ = SnapshotNode(root_);
}

size_t FaultFileSystem::SnapshotNode(const std::string& path) {
    struct stat st;
    if (lstat(path.c_str(), &st) != 0) {
        ADD_FAILURE() << "fault fs: cannot stat " << path;
        return 0;
    }
    size_t id = NodeOf(st, path, /*fresh=*/true);
    if (S_ISREG(st.st_mode)) {
        auto data = ReadFile(path, size_t{1} << 30);
        if (!data.ok()) ADD_FAILURE() << "fault fs: " << data.status().message();
        nodes_[id].data = data.ok() ? *data : "";
    } else if (S_ISDIR(st.st_mode)) {
        DIR* d = opendir(path.c_str());
        std::vector<std::string> names;
        while (dirent* e = d ? readdir(d) : nullptr) {
            std::string name = e->d_name;
            if (name != "." && name != "..") names.push_back(name);
        }
        if (d) closedir(d);
        for (const auto& name : names) {
            size_t child = SnapshotNode(path + "/" + name);
            nodes_[id].entries[name] = child;
        }
    }
    return id;
}

void FaultFileSystem::Materialize(const std::string& path, size_t id, int depth) {
    ASSERT_LT(depth, 64) << "fault fs: the model has a directory cycle at " << path;
    const Node& node = nodes_[id];
    switch (node.kind) {
        case Node::kFile: {
            int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
            ASSERT_GE(fd, 0) << "fault fs: cannot restore " << path;
            ASSERT_EQ(write(fd, node.data.data(), node.data.size()),
                      static_cast<ssize_t>(node.data.size()));
            fchmod(fd, node.mode);
            close(fd);
            break;
        }
        case Node::kSymlink:
            ASSERT_EQ(symlink(node.data.c_str(), path.c_str()), 0)
                << "fault fs: cannot restore " << path;
            break;
        case Node::kDirectory:
            ASSERT_EQ(mkdir(path.c_str(), 0700), 0) << "fault fs: cannot restore " << path;
            for (const auto& [name, child] : node.entries) {
                Materialize(path + "/" + name, child, depth + 1);
            }
            chmod(path.c_str(), node.mode);
            break;
    }
}

void FaultFileSystem::PowerCut() {
    for (const auto& entry : std::filesystem::directory_iterator(root_)) {
        std::filesystem::remove_all(entry.path());
    }
    for (const auto& [name, child] : nodes_[root_node_].entries) {
        Materialize(root_ + "/" + name, child, 1);
    }
    Snapshot();
    calls_ = 0;
    calls_of_kind_.clear();
    trace_.clear();
    injection_.reset();
    cut_at_ = 0;
    powered_off_ = false;
}

int FaultFileSystem::OpenAt(int dir_fd, const char* path, int flags, mode_t mode) {
    bool changes = (flags & O_ACCMODE) != O_RDONLY || (flags & (O_CREAT | O_TRUNC));
    if (!changes) return openat(dir_fd, path, flags, mode);
    if (!Admit(Call::kOpen, "open " + PathName(dir_fd, path))) return -1;
    struct stat st;
    bool existed = fstatat(dir_fd, path, &st, AT_SYMLINK_NOFOLLOW) == 0;
    int fd = openat(dir_fd, path, flags, mode);
    if (fd >= 0 && !existed && fstat(fd, &st) == 0) NodeOf(st, PathName(dir_fd, path), true);
    return fd;
}

ssize_t FaultFileSystem::Write(int fd, const void* data, size_t size) {
    if (!Admit(Call::kWrite, DescribeFd("write", fd))) return -1;
    return write(fd, data, size);
}

ssize_t FaultFileSystem::PWrite(int fd, const void* data, size_t size, off_t offset) {
    if (!Admit(Call::kWrite, DescribeFd("write", fd))) return -1;
    return pwrite(fd, data, size, offset);
}

int FaultFileSystem::Truncate(int fd, off_t size) {
    if (!Admit(Call::kTruncate, DescribeFd("truncate", fd))) return -1;
    return ftruncate(fd, size);
}

int FaultFileSystem::Sync(int fd) {
    if (!Admit(Call::kSync, DescribeFd("fsync", fd))) return -1;
    if (fsync(fd) != 0) return -1;
    struct stat st;
    if (fstat(fd, &st) != 0) return -1;
    std::string self = ProcFd(fd);
    size_t id = NodeOf(st, self, /*fresh=*/false);
    nodes_[id].mode = st.st_mode & 07777;
    if (S_ISREG(st.st_mode)) {
        // Through /proc: (fd) may be open for writing only.
        auto data = ReadFile(self, size_t{1} << 30);
        if (!data.ok()) ADD_FAILURE() << "fault fs: " << data.status().message();
        nodes_[id].data = data.ok() ? *data : "";
    } else if (S_ISDIR(st.st_mode)) {
        int dir_fd = open(self.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        DIR* d = dir_fd >= 0 ? fdopendir(dir_fd) : nullptr;
        std::map<std::string, size_t> entries;
        while (dirent* e = d ? readdir(d) : nullptr) {
            std::string name = e->d_name;
            if (name == "." || name == "..") continue;
            struct stat child;
            if (fstatat(dirfd(d), e->d_name, &child, AT_SYMLINK_NOFOLLOW) != 0) continue;
            std::string child_path = self + "/" + name;
            entries[name] = NodeOf(child, child_path, /*fresh=*/false);
        }
        if (d) closedir(d);
        nodes_[id].entries = std::move(entries);
    }
    return 0;
}

int FaultFileSystem::Chmod(int fd, mode_t mode) {
    if (!Admit(Call::kChmod, DescribeFd("chmod", fd))) return -1;
    return fchmod(fd, mode);
}

int FaultFileSystem::ChmodAt(int dir_fd, const char* path, mode_t mode) {
    if (!Admit(Call::kChmod, "chmod " + PathName(dir_fd, path))) return -1;
    return fchmodat(dir_fd, path, mode, 0);
}

int FaultFileSystem::RenameAt(int from_dir_fd, const char* from, int to_dir_fd, const char* to,
                              unsigned flags) {
    if (!Admit(Call::kRename,
               "rename " + PathName(from_dir_fd, from) + " -> " + PathName(to_dir_fd, to))) {
        return -1;
    }
    return renameat2(from_dir_fd, from, to_dir_fd, to, flags);
}

int FaultFileSystem::UnlinkAt(int dir_fd, const char* path, int flags) {
    if (!Admit(Call::kUnlink, "unlink " + PathName(dir_fd, path))) return -1;
    return unlinkat(dir_fd, path, flags);
}

int FaultFileSystem::MakeDirectoryAt(int dir_fd, const char* path, mode_t mode) {
    if (!Admit(Call::kMkdir, "mkdir " + PathName(dir_fd, path))) return -1;
    if (mkdirat(dir_fd, path, mode) != 0) return -1;
    NodeAt(dir_fd, path, /*fresh=*/true);
    return 0;
}

int FaultFileSystem::SymlinkAt(const char* target, int dir_fd, const char* link) {
    if (!Admit(Call::kSymlink, "symlink " + PathName(dir_fd, link) + " -> " + target)) return -1;
    if (symlinkat(target, dir_fd, link) != 0) return -1;
    NodeAt(dir_fd, link, /*fresh=*/true);
    return 0;
}

}  // namespace hvkit::testing
