// A libarchive reader over a PackageInput that accepts only what the package
// format can contain (tar, with zstd, xz or no compression) and turns
// libarchive's return codes into Status values naming the package.
// Internal to hvpackage.
#pragma once

#include <archive.h>
#include <archive_entry.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "hvkit/package/format.h"
#include "hvkit/package/input.h"
#include "hvkit/status.h"

namespace hvkit::internal {

struct DataBlock {
    const void* data = nullptr;
    size_t size = 0;
    int64_t offset = 0;
    bool end = false;  // no more data in this entry
};

class ArchiveStream {
  public:
    explicit ArchiveStream(PackageInput& input);
    ~ArchiveStream();
    ArchiveStream(const ArchiveStream&) = delete;
    ArchiveStream& operator=(const ArchiveStream&) = delete;

    // Starts reading; fails when the input is not a supported archive.
    Status Open();
    // The next entry header, or nullptr at the end of the archive. The entry
    // stays valid until the next call.
    Result<archive_entry*> NextHeader();
    // The next block of the current entry's data (zero-copy from libarchive).
    Result<DataBlock> ReadBlock();
    // The compression filter detected by Open().
    Compression compression() const;

  private:
    static la_ssize_t ReadCallback(struct archive* a, void* self, const void** buffer);
    Status Damaged(const std::string& during) const;

    PackageInput& input_;
    struct archive* archive_;
    Status input_error_;
};

}  // namespace hvkit::internal
