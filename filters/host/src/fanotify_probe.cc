// Probing fanotify permission events with a group that is closed at once.
#include "fanotify_probe.h"

#include <fcntl.h>
#include <sys/fanotify.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "hvkit/fs.h"

namespace hvkit::filterd {

namespace {

std::string Hex(uint64_t value) {
    char text[24];
    snprintf(text, sizeof(text), "0x%llx", static_cast<unsigned long long>(value));
    return text;
}

}  // namespace

Status ProbeFanotifyPermissionEvents(const std::string& dir, uint64_t mask) {
    UniqueFd group(fanotify_init(FAN_CLASS_CONTENT | FAN_CLOEXEC | FAN_NONBLOCK, O_RDONLY));
    if (!group.valid()) {
        return Error(ErrorCode::kRefused, std::string("fanotify_init(FAN_CLASS_CONTENT) failed: ") +
                                              std::strerror(errno) +
                                              " (permission events need CAP_SYS_ADMIN and a "
                                              "kernel with CONFIG_FANOTIFY_ACCESS_PERMISSIONS)");
    }
    if (fanotify_mark(group.get(), FAN_MARK_ADD, mask | FAN_EVENT_ON_CHILD, AT_FDCWD,
                      dir.c_str()) != 0) {
        return Error(ErrorCode::kRefused, "fanotify_mark of '" + dir + "' with mask " + Hex(mask) +
                                              " failed: " + std::strerror(errno));
    }
    return Status::Ok();
}

}  // namespace hvkit::filterd
