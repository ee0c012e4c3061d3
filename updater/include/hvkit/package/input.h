// Where the bytes of a package come from: a file, a descriptor (a pipe, a memfd
// the hypervisor filled from the guest) or memory. The reader pulls chunks and
// counts them, which is what the compression-ratio limit is measured against.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "hvkit/status.h"

namespace hvkit {

class PackageInput {
  public:
    // Chunk size handed to the archive reader.
    static constexpr size_t kChunkBytes = 1 << 20;

    // Opens the package file at (path); errors and messages name (path).
    static Result<PackageInput> OpenFile(const std::string& path);
    // Reads from (fd) at its current offset; (fd) stays owned by the caller.
    static PackageInput FromFd(int fd, std::string name);
    // Reads (bytes), which must outlive the input; (name) is used in messages.
    static PackageInput FromBytes(std::string_view bytes, std::string name);

    PackageInput(PackageInput&& other) noexcept;
    PackageInput& operator=(PackageInput&& other) = delete;
    PackageInput(const PackageInput&) = delete;
    ~PackageInput();

    // The name messages use for this package ("pkg.hvpkg").
    const std::string& name() const { return name_; }
    // The next chunk (at most kChunkBytes), empty at the end. The view stays
    // valid until the next call.
    Result<std::string_view> Read();
    // Bytes handed out by Read() so far.
    uint64_t bytes_read() const { return bytes_read_; }

  private:
    PackageInput(std::string name, int fd, bool owns_fd, std::string_view bytes);

    std::string name_;
    int fd_ = -1;
    bool owns_fd_ = false;
    std::string_view bytes_;
    size_t offset_ = 0;
    std::vector<char> buffer_;
    uint64_t bytes_read_ = 0;
};

}  // namespace hvkit
