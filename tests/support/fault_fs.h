// A FileSystem for crash and fault tests, after LevelDB's
// FaultInjectionTestEnv: the calls reach the real disk, while a model
// remembers what a power cut would leave of it, and ENOSPC or EIO can be
// injected at any call.
//
// The model is the durable state of the tree under (root): for every
// directory the entries a directory fsync made durable, for every file the
// bytes and size its last fsync made durable (nothing, for a file never
// fsynced), for a symlink its target (written with its entry). At
// construction and after every PowerCut() all that is on disk counts as
// durable. PowerCut() rewrites the real tree from the model: data not
// synced is gone, and a create, rename, unlink or symlink whose directory
// was not fsynced since is undone. The model follows inodes, so a file
// renamed keeps its synced data under the new name once that name is
// durable, and the old name keeps it until then.
//
// Writes through anything but this FileSystem (a plain write(2), SQLite's
// own VFS) are not durable at all under it: a path that bypasses the seam
// loses its data at a power cut, which is what the crash tests are for.
// Not thread-safe: for a test's one thread.
#pragma once

#include <sys/types.h>

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "hvkit/file_system.h"

namespace hvkit::testing {

class FaultFileSystem : public FileSystem {
  public:
    // The kinds of call, for an injection at the Nth call of one kind.
    enum class Call { kOpen, kWrite, kTruncate, kSync, kChmod, kRename, kUnlink, kMkdir, kSymlink };

    // Tracks the existing directory (root) and everything under it.
    explicit FaultFileSystem(std::string root);

    // Calls made so far: every method below except a read-only OpenAt.
    int calls() const { return calls_; }
    // Call (n) (1-based, counting from construction) says what (n) was: "rename
    // A -> B", for a test's trace; "" past the calls made.
    std::string Describe(int n) const;

    // Call (n) fails with (error) (ENOSPC, EIO, ...) and changes nothing;
    // with (kind), the (n)th call of that kind. Once; calls after it succeed.
    void FailCall(int n, int error, std::optional<Call> kind = std::nullopt);
    // The power goes off at call (n): it and every call after it fail with
    // EIO and change nothing, until PowerCut().
    void CutPowerAtCall(int n);
    bool powered_off() const { return powered_off_; }

    // A power cut: the tree under root becomes what the model says was
    // durable; then the power is back, every call succeeds again and all
    // now on disk is durable. Close every file and database under root
    // first (their descriptors would name files that are gone).
    void PowerCut();

    int OpenAt(int dir_fd, const char* path, int flags, mode_t mode = 0) override;
    ssize_t Write(int fd, const void* data, size_t size) override;
    ssize_t PWrite(int fd, const void* data, size_t size, off_t offset) override;
    int Truncate(int fd, off_t size) override;
    int Sync(int fd) override;
    int Chmod(int fd, mode_t mode) override;
    int ChmodAt(int dir_fd, const char* path, mode_t mode) override;
    int RenameAt(int from_dir_fd, const char* from, int to_dir_fd, const char* to,
                 unsigned flags = 0) override;
    int UnlinkAt(int dir_fd, const char* path, int flags = 0) override;
    int MakeDirectoryAt(int dir_fd, const char* path, mode_t mode) override;
    int SymlinkAt(const char* target, int dir_fd, const char* link) override;

  private:
    // A file, directory or symlink as a power cut would leave it.
    struct Node {
        enum Kind { kFile, kDirectory, kSymlink } kind = kFile;
        mode_t mode = 0644;
        std::string data;                       // a file's synced bytes, a symlink's target
        std::map<std::string, size_t> entries;  // a directory's durable entries: name -> node
    };
    using Inode = std::pair<dev_t, ino_t>;

    // Counts a call and says whether it may go ahead; false with errno set
    // when it fails (injected, or the power is off).
    bool Admit(Call kind, std::string description);
    // The node of the inode (dir_fd, path) names, made fresh (a new inode:
    // nothing of it durable yet) when (fresh) or unknown.
    size_t NodeAt(int dir_fd, const char* path, bool fresh);
    size_t NodeOf(const struct stat& st, const std::string& path, bool fresh);
    // Every node under root from what is on disk now.
    void Snapshot();
    size_t SnapshotNode(const std::string& path);
    // Writes (node) at (path) on the real disk.
    void Materialize(const std::string& path, size_t node, int depth);

    std::string root_;
    std::vector<Node> nodes_;
    size_t root_node_ = 0;
    std::map<Inode, size_t> live_;  // what each inode on disk is in the model

    int calls_ = 0;
    std::map<Call, int> calls_of_kind_;
    std::vector<std::string> trace_;
    struct Injection {
        int n;
        int error;
        std::optional<Call> kind;
    };
    std::optional<Injection> injection_;
    int cut_at_ = 0;
    bool powered_off_ = false;
};

}  // namespace hvkit::testing
