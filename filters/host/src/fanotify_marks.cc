// Inode marks for a file source's paths.
#include "fanotify_marks.h"

#include <fcntl.h>
#include <sys/fanotify.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>

namespace hvkit::filterd {

uint64_t FanotifyEventMask(const std::vector<FileEvent>& events) {
    uint64_t mask = 0;
    for (FileEvent e : events) {
        switch (e) {
            case FileEvent::kOpen:
                mask |= FAN_OPEN_PERM;
                break;
            case FileEvent::kExec:
                mask |= FAN_OPEN_EXEC_PERM;
                break;
            case FileEvent::kAccess:
                mask |= FAN_ACCESS_PERM;
                break;
        }
    }
    return mask;
}

Status AddFanotifyMark(int fanotify_fd, uint64_t mask, const std::string& path,
                       const std::string& what) {
    const std::string where = what + " '" + path + "'";
    struct stat st = {};
    if (stat(path.c_str(), &st) != 0) {
        return Error(ErrorCode::kNotFound,
                     where + ": cannot be watched: " + std::strerror(errno) +
                         " (file.paths must name existing directories or regular files)");
    }
    if (S_ISDIR(st.st_mode)) {
        mask |= FAN_EVENT_ON_CHILD;
    } else if (!S_ISREG(st.st_mode)) {
        return Error(ErrorCode::kInvalidArgument,
                     where +
                         ": is neither a directory nor a regular file; file.paths may "
                         "name only those");
    }
    if (fanotify_mark(fanotify_fd, FAN_MARK_ADD, mask, AT_FDCWD, path.c_str()) == 0) {
        return Status::Ok();
    }
    int err = errno;
    if (err == EINVAL && (mask & FAN_OPEN_EXEC_PERM) != 0) {
        uint64_t without_exec = mask & ~uint64_t{FAN_OPEN_EXEC_PERM};
        bool rest_ok =
            without_exec == FAN_EVENT_ON_CHILD || without_exec == 0 ||
            fanotify_mark(fanotify_fd, FAN_MARK_ADD, without_exec, AT_FDCWD, path.c_str()) == 0;
        if (rest_ok) {
            if (without_exec != 0 && without_exec != FAN_EVENT_ON_CHILD) {
                fanotify_mark(fanotify_fd, FAN_MARK_REMOVE, without_exec, AT_FDCWD, path.c_str());
            }
            return Error(ErrorCode::kRefused,
                         where +
                             ": this kernel has no FAN_OPEN_EXEC_PERM (Linux 5.0 or "
                             "later), so \"exec\" in file.events cannot be intercepted; "
                             "remove \"exec\" or run on a newer kernel");
        }
    }
    return Error(ErrorCode::kIo, where + ": fanotify_mark failed: " + std::strerror(err));
}

}  // namespace hvkit::filterd
