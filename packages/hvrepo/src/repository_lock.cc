#include "repository_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace hvkit::repo {

Result<std::shared_ptr<RepositoryLock>> RepositoryLock::Acquire(const std::string& dir) {
    const std::string path = dir + "/.hvrepo.lock";
    int fd = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        return Error(ErrorCode::kIo, "cannot open the lock file " + path + ": " + strerror(errno));
    }
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int err = errno;
        close(fd);
        if (err == EWOULDBLOCK) {
            return Error(ErrorCode::kConflict,
                         dir + " is in use by another hvrepo command (it holds " + path +
                             "): wait for it to finish and retry");
        }
        return Error(ErrorCode::kIo, "cannot lock " + path + ": " + strerror(err));
    }
    return std::shared_ptr<RepositoryLock>(new RepositoryLock(fd));
}

RepositoryLock::~RepositoryLock() {
    close(fd_);
}

}  // namespace hvkit::repo
