#include "target_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "hvkit/crypto.h"
#include "hvkit/fs.h"

namespace hvkit::repo {

namespace {

constexpr size_t kMaxNameLength = 1024;
// A stored file name is "<64 hex>.<base>": keep it below NAME_MAX (255).
constexpr size_t kMaxSegmentLength = 180;

bool IsNameCharacter(char c) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
    return std::strchr("._-+~@=,", c) != nullptr && c != '\0';
}

Status Refuse(const std::string& name, const std::string& rule) {
    return Error(ErrorCode::kRefused,
                 "refusing target name '" + name + "': " + rule +
                     "; use --name with a relative path such as 'hypervisor/hvmm-1.2.hvpkg'");
}

Status Errno(const std::string& what) {
    return Error(ErrorCode::kIo, what + ": " + strerror(errno));
}

// Copies (in) to (out), hashing the bytes. Returns the length copied.
Result<int64_t> CopyHashing(int in, int out, Sha256& sha, const std::string& from,
                            const std::string& to) {
    std::vector<char> buf(1 << 20);
    int64_t total = 0;
    for (;;) {
        ssize_t n = read(in, buf.data(), buf.size());
        if (n < 0) {
            if (errno == EINTR) continue;
            return Errno("cannot read " + from);
        }
        if (n == 0) break;
        sha.Update(buf.data(), static_cast<size_t>(n));
        for (ssize_t done = 0; done < n;) {
            ssize_t w = write(out, buf.data() + done, static_cast<size_t>(n - done));
            if (w < 0) {
                if (errno == EINTR) continue;
                return Errno("cannot write " + to);
            }
            done += w;
        }
        total += n;
    }
    return total;
}

}  // namespace

Status ValidateTargetName(const std::string& name) {
    if (name.empty()) return Refuse(name, "a target name must not be empty");
    if (name.size() > kMaxNameLength) {
        return Refuse(name, "longer than " + std::to_string(kMaxNameLength) + " characters");
    }
    if (name.front() == '/') return Refuse(name, "absolute paths are not allowed");
    size_t start = 0;
    for (;;) {
        size_t slash = name.find('/', start);
        std::string segment =
            name.substr(start, slash == std::string::npos ? slash : slash - start);
        if (segment.empty())
            return Refuse(name, "empty path segments ('//' or a trailing '/') are not allowed");
        if (segment == "." || segment == "..") {
            return Refuse(name, "'.' and '..' segments are not allowed");
        }
        if (segment.size() > kMaxSegmentLength) {
            return Refuse(name, "a path segment is longer than " +
                                    std::to_string(kMaxSegmentLength) + " characters");
        }
        for (char c : segment) {
            if (!IsNameCharacter(c)) {
                return Refuse(name, "only letters, digits, '/' and . _ - + ~ @ = , are allowed");
            }
        }
        if (slash == std::string::npos) break;
        start = slash + 1;
    }
    return Status::Ok();
}

Result<tuf::TargetFile> StoreTargetFile(const std::string& file, const std::string& targets_dir,
                                        const std::string& name) {
    HVKIT_RETURN_IF_ERROR(ValidateTargetName(name));
    UniqueFd in(open(file.c_str(), O_RDONLY | O_CLOEXEC));
    if (in.get() < 0) {
        if (errno == ENOENT) {
            return Error(ErrorCode::kNotFound, "cannot add " + file + ": no such file");
        }
        return Errno("cannot open " + file);
    }
    struct stat st;
    if (fstat(in.get(), &st) != 0) return Errno("cannot stat " + file);
    if (!S_ISREG(st.st_mode)) {
        return Error(ErrorCode::kRefused, "cannot add " + file + ": not a regular file");
    }

    // Staged in the destination directory, so the final rename is atomic.
    const std::string dir = DirName(targets_dir + "/" + name);
    HVKIT_RETURN_IF_ERROR(MakeDirectories(dir));
    const std::string tmp = dir + "/.hvrepo-tmp-" + std::to_string(getpid());
    tuf::TargetFile target;
    {
        UniqueFd out(open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
        if (out.get() < 0) return Errno("cannot create " + tmp);
        Sha256 sha;
        auto length = CopyHashing(in.get(), out.get(), sha, file, tmp);
        if (length.ok() && fsync(out.get()) != 0) length = Errno("cannot fsync " + tmp);
        if (!length.ok()) {
            unlink(tmp.c_str());
            return length.status();
        }
        target.length = *length;
        target.hashes["sha256"] = HexEncode(sha.Final());
    }
    const std::string dest =
        targets_dir + "/" + tuf::ConsistentTargetPath(name, target.hashes["sha256"]);
    if (rename(tmp.c_str(), dest.c_str()) != 0) {
        Status failed = Errno("cannot move " + tmp + " into place as " + dest);
        unlink(tmp.c_str());
        return failed;
    }
    HVKIT_RETURN_IF_ERROR(SyncDirectory(dir));
    return target;
}

}  // namespace hvkit::repo
