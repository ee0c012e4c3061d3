// Which accesses a file source intercepts: the fanotify event mask for its
// configured events, and the marks that put its paths under it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "hvkit/filterd/config.h"
#include "hvkit/status.h"

namespace hvkit::filterd {

// The permission event bits for (events): open FAN_OPEN_PERM, exec
// FAN_OPEN_EXEC_PERM, access FAN_ACCESS_PERM.
uint64_t FanotifyEventMask(const std::vector<FileEvent>& events);

// Marks (path) in the group (fanotify_fd) for (mask). A directory is
// marked with FAN_EVENT_ON_CHILD: accesses to its direct children raise
// events, not accesses to the directory itself or to anything in its
// subdirectories. A regular file is marked itself. Anything else, a
// missing path, or a mask this kernel lacks (FAN_OPEN_EXEC_PERM before
// Linux 5.0) is an error naming (what), the path and the rule.
Status AddFanotifyMark(int fanotify_fd, uint64_t mask, const std::string& path,
                       const std::string& what);

}  // namespace hvkit::filterd
