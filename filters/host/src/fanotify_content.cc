// Reading an event's file through its event fd.
#include "fanotify_content.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>

namespace hvkit::filterd {

Result<std::vector<uint8_t>> ReadEventContent(int event_fd, uint64_t max_bytes) {
    struct stat st = {};
    if (fstat(event_fd, &st) != 0) {
        return Error(ErrorCode::kIo, EventFdPath(event_fd) +
                                         ": fstat of the event fd failed: " + std::strerror(errno));
    }
    std::vector<uint8_t> content;
    if (!S_ISREG(st.st_mode) || max_bytes == 0) return content;
    // The size when the event was read: bytes a writer appends meanwhile
    // are not inspected, as they were not there when the access began.
    uint64_t want = max_bytes;
    if (st.st_size >= 0 && static_cast<uint64_t>(st.st_size) < want) {
        want = static_cast<uint64_t>(st.st_size);
    }
    content.resize(want);
    uint64_t got = 0;
    while (got < want) {
        ssize_t n = pread(event_fd, content.data() + got, want - got, static_cast<off_t>(got));
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            return Error(ErrorCode::kIo, EventFdPath(event_fd) + ": reading its first " +
                                             std::to_string(want) +
                                             " bytes failed: " + std::strerror(errno));
        }
        if (n == 0) break;  // truncated meanwhile
        got += static_cast<uint64_t>(n);
    }
    content.resize(got);
    return content;
}

std::string EventFdPath(int fd) {
    std::string link = "/proc/self/fd/" + std::to_string(fd);
    char buf[PATH_MAX];
    ssize_t n = readlink(link.c_str(), buf, sizeof(buf));
    if (n <= 0) return "(fd " + std::to_string(fd) + ")";
    return std::string(buf, static_cast<size_t>(n));
}

}  // namespace hvkit::filterd
