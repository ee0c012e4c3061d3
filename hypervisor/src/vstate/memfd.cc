// Memory in a memfd, mapped shared: guest RAM and device memory.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "hvmm.h"

namespace hvkit::hvmm {

Result<MemfdMapping> MemfdMapping::Create(std::string_view name, uint64_t size, bool seal_size) {
    std::string what = "memfd " + std::string(name);
    MemfdMapping m;
    unsigned flags = MFD_CLOEXEC | (seal_size ? MFD_ALLOW_SEALING : 0u);
    m.fd_ = UniqueFd(memfd_create(std::string(name).c_str(), flags));
    if (!m.fd_.valid()) return Error(ErrorCode::kIo, what + ": memfd_create: " + strerror(errno));
    if (ftruncate(m.fd_.get(), static_cast<off_t>(size)) != 0) {
        return Error(ErrorCode::kIo,
                     what + ": sizing to " + std::to_string(size) + " bytes: " + strerror(errno));
    }
    if (seal_size && fcntl(m.fd_.get(), F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW) != 0) {
        return Error(ErrorCode::kIo, what + ": sealing its size: " + strerror(errno));
    }
    void* p =
        mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, m.fd_.get(), 0);
    if (p == MAP_FAILED) return Error(ErrorCode::kIo, what + ": mmap: " + strerror(errno));
    // Transparent huge pages where the host allows them for shmem
    // (/sys/kernel/mm/transparent_hugepage/shmem_enabled "advise" or
    // "within_size"): fewer, larger nested-paging entries for the guest.
    // Where it is "never" (the kernel's default) this changes nothing, and a
    // failure here is only a lost optimisation.
    (void)madvise(p, size, MADV_HUGEPAGE);
    m.data_ = static_cast<uint8_t*>(p);
    m.size_ = size;
    return m;
}

Result<MemfdMapping> MemfdMapping::Adopt(UniqueFd fd, std::string_view name, uint64_t size) {
    std::string what = "handed-over memfd " + std::string(name);
    struct stat st;
    if (fstat(fd.get(), &st) != 0)
        return Error(ErrorCode::kIo, what + ": fstat: " + strerror(errno));
    if (!S_ISREG(st.st_mode) || static_cast<uint64_t>(st.st_size) != size) {
        return Error(ErrorCode::kMalformed, what + " holds " + std::to_string(st.st_size) +
                                                " bytes; this machine needs " +
                                                std::to_string(size));
    }
    void* p = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, fd.get(), 0);
    if (p == MAP_FAILED) return Error(ErrorCode::kIo, what + ": mmap: " + strerror(errno));
    (void)madvise(p, size, MADV_HUGEPAGE);  // as Create() does
    MemfdMapping m;
    m.fd_ = std::move(fd);
    m.data_ = static_cast<uint8_t*>(p);
    m.size_ = size;
    return m;
}

MemfdMapping::MemfdMapping(MemfdMapping&& other) noexcept
    : fd_(std::move(other.fd_)),
      data_(std::exchange(other.data_, nullptr)),
      size_(std::exchange(other.size_, 0)) {}

MemfdMapping& MemfdMapping::operator=(MemfdMapping&& other) noexcept {
    if (this != &other) {
        if (data_ != nullptr) munmap(data_, size_);
        fd_ = std::move(other.fd_);
        data_ = std::exchange(other.data_, nullptr);
        size_ = std::exchange(other.size_, 0);
    }
    return *this;
}

MemfdMapping::~MemfdMapping() {
    if (data_ != nullptr) munmap(data_, size_);
}

}  // namespace hvkit::hvmm
