// A SQLite VFS that sends every byte a database must keep through a
// FileSystem (hvkit/file_system.h): creating a database, journal or WAL,
// xWrite, xTruncate, xSync (with the directory sync SQLite's unix VFS does
// for a new journal or WAL) and xDelete. Everything else (reads, sizes,
// locks, the WAL's shared-memory index, which is rebuilt after a crash)
// stays with SQLite's default VFS, which this one wraps. So a fault file
// system's EIO or ENOSPC reaches SQLite as SQLITE_IOERR or SQLITE_FULL, and
// its power cut drops what SQLite had not synced. Internal to hvstore.
#pragma once

#include <string>

#include "hvkit/file_system.h"
#include "hvkit/status.h"

namespace hvkit::internal {

// The name of the VFS that routes through (fs), registered with SQLite on
// first use. One VFS per FileSystem address, never unregistered: a
// database opened with it must be closed before (fs) is destroyed.
Result<std::string> FileSystemVfs(FileSystem& fs);

// The errno of this thread's last failed FileSystem call in any such VFS
// since ClearFileSystemError(), or 0: SQLite's own messages ("disk I/O
// error") do not say what the system said.
int LastFileSystemError();
void ClearFileSystemError();

}  // namespace hvkit::internal
