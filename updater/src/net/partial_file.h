// The destination of FetchToFile: a file that may already hold the first part
// of the download. Its length is the offset a resumed request starts from.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "hvkit/status.h"

namespace hvkit::net {

class PartialFile {
  public:
    // Opens (path) for writing, creating it (mode 0644) if it does not exist;
    // existing contents are kept.
    static Result<PartialFile> Open(const std::string& path);

    PartialFile(PartialFile&& other) noexcept;
    PartialFile& operator=(PartialFile&& other) = delete;
    PartialFile(const PartialFile&) = delete;
    PartialFile& operator=(const PartialFile&) = delete;
    ~PartialFile();

    // Bytes in the file: what is already downloaded.
    int64_t size() const { return size_; }

    // Removes the file if Open created it and nothing was written since, so a
    // failed download leaves no empty file behind.
    void RemoveIfCreatedEmpty();

    // Writes (size) bytes from (data) at the end of the file.
    Status Append(const char* data, size_t size);

    // Empties the file, for a download that starts over.
    Status Truncate();

    // fsync of the file and of its directory entry, so the bytes survive a crash.
    Status Sync();

  private:
    PartialFile(std::string path, int fd, int64_t size, bool created)
        : path_(std::move(path)), fd_(fd), size_(size), created_(created) {}

    std::string path_;
    int fd_ = -1;
    int64_t size_ = 0;
    bool created_ = false;
};

}  // namespace hvkit::net
