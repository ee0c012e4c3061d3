// What the guest sees of an accessed file: its first bytes, read through
// the fd the kernel opened for the event.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "hvkit/status.h"

namespace hvkit::filterd {

// Reads up to (max_bytes) of the file open as (event_fd), from offset 0,
// with pread so the fd's offset is untouched. The kernel opens event fds
// with FMODE_NONOTIFY, so this read raises no fanotify event and cannot
// wait on hvfilterd itself. A file shorter than (max_bytes) gives all of
// it; anything that is not a regular file (a FIFO, a device) gives no
// bytes: reading it could block or consume data meant for the opener.
Result<std::vector<uint8_t>> ReadEventContent(int event_fd, uint64_t max_bytes);

// The path of the file open as (fd), through /proc/self/fd, for messages:
// "(fd N)" when it cannot be read. readlink opens nothing, so it raises
// no event.
std::string EventFdPath(int fd);

}  // namespace hvkit::filterd
