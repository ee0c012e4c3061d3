// A RegionDevice over a memfd and two eventfds (the fds hvmm hands
// hvfilterd): the runtime's tests drive it against a real hvfilterd.
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "hvkit/filter_runtime/region_device.h"

namespace hvkit::filter_runtime {

namespace {

class EventfdRegionDevice final : public RegionDevice {
  public:
    EventfdRegionDevice(UniqueFd region_fd, uint8_t* base, uint64_t size, UniqueFd doorbell,
                        UniqueFd interrupt)
        : region_fd_(std::move(region_fd)),
          base_(base),
          size_(size),
          doorbell_(std::move(doorbell)),
          interrupt_(std::move(interrupt)) {}
    ~EventfdRegionDevice() override { munmap(base_, size_); }

    std::span<uint8_t> region() override { return {base_, size_}; }
    void Kick() override {
        const uint64_t one = 1;
        [[maybe_unused]] ssize_t n = write(doorbell_.get(), &one, sizeof one);
    }
    int interrupt_fd() const override { return interrupt_.get(); }
    void TakeInterrupt() override {
        uint64_t count;
        [[maybe_unused]] ssize_t n = read(interrupt_.get(), &count, sizeof count);
    }
    void Unmask() override {}
    std::string Describe() const override { return "filter region memfd"; }

  private:
    UniqueFd region_fd_;
    uint8_t* base_;
    uint64_t size_;
    UniqueFd doorbell_;
    UniqueFd interrupt_;
};

}  // namespace

Result<std::unique_ptr<RegionDevice>> OpenEventfdRegionDevice(UniqueFd region_fd, uint64_t size,
                                                              UniqueFd doorbell_fd,
                                                              UniqueFd interrupt_fd) {
    void* base = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, region_fd.get(), 0);
    if (base == MAP_FAILED) {
        return Error(ErrorCode::kIo, std::string("filter region memfd: mmap: ") + strerror(errno));
    }
    // Forked chain workers have no business with the region.
    madvise(base, size, MADV_DONTFORK);
    return std::unique_ptr<RegionDevice>(
        new EventfdRegionDevice(std::move(region_fd), static_cast<uint8_t*>(base), size,
                                std::move(doorbell_fd), std::move(interrupt_fd)));
}

}  // namespace hvkit::filter_runtime
