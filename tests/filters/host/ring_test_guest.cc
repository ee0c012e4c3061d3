#include "ring_test_guest.h"

#include <poll.h>
#include <sys/mman.h>
#include <unistd.h>

#include <span>

#include "hvkit/filter_region.h"

namespace hvkit::filterd::testing {
namespace {

namespace ring = filter_ring;

void Kick(int fd) {
    const uint64_t one = 1;
    [[maybe_unused]] ssize_t n = write(fd, &one, sizeof(one));
}

// Sleeps on (fd) for at most (ms), then empties it.
void WaitOn(int fd, int ms) {
    pollfd p{fd, POLLIN, 0};
    poll(&p, 1, ms);
    uint64_t count;
    while (read(fd, &count, sizeof(count)) == sizeof(count)) {
    }
}

}  // namespace

RingTestGuest::RingTestGuest(int region_fd, uint64_t region_size, int doorbell_fd, int interrupt_fd,
                             GuestAnswer answer)
    : region_fd_(region_fd),
      region_size_(region_size),
      doorbell_fd_(doorbell_fd),
      interrupt_fd_(interrupt_fd),
      answer_(std::move(answer)) {
    thread_ = std::thread([this] { Loop(); });
}

RingTestGuest::~RingTestGuest() {
    stop_ = true;
    Kick(interrupt_fd_);
    thread_.join();
}

bool RingTestGuest::WaitAttached(std::chrono::milliseconds limit) const {
    auto until = std::chrono::steady_clock::now() + limit;
    while (!attached_ && std::chrono::steady_clock::now() < until) {
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    return attached_;
}

std::vector<ring::FilterRequest> RingTestGuest::seen() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return seen_;
}

std::string RingTestGuest::error() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return error_;
}

void RingTestGuest::Fail(const std::string& message) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (error_.empty()) error_ = message;
}

bool RingTestGuest::Answer(ring::VerdictProducer& producer,
                           const std::vector<ring::FilterRequest>& batch) {
    for (const ring::FilterRequest& request : batch) {
        std::optional<ring::FilterVerdict> verdict;
        if (!silent_) verdict = answer_(request);
        if (!verdict) continue;
        for (int tries = 0;; ++tries) {
            Status st = producer.Stage(*verdict);
            if (st.ok()) break;
            if (st.code() != ErrorCode::kTooLarge || tries > 5000 || stop_) {
                Fail(st.message());
                return false;
            }
            // The verdict ring is full: publish what is staged, let the
            // host drain it, and try again.
            Result<bool> kick = producer.Publish();
            if (kick.ok() && *kick) Kick(doorbell_fd_);
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }
    }
    Result<bool> kick = producer.Publish();
    if (!kick.ok()) {
        Fail(kick.status().message());
        return false;
    }
    if (*kick) Kick(doorbell_fd_);
    return true;
}

void RingTestGuest::Loop() {
    void* base = mmap(nullptr, region_size_, PROT_READ | PROT_WRITE, MAP_SHARED, region_fd_, 0);
    if (base == MAP_FAILED) {
        Fail("mmap of the region failed");
        return;
    }
    std::span<uint8_t> memory(static_cast<uint8_t*>(base), region_size_);
    std::optional<ring::FilterRegion> region;
    while (!stop_ && !region) {
        Result<ring::FilterRegion> attached = ring::Attach(memory);
        if (attached.ok()) {
            region = *attached;
        } else {
            WaitOn(interrupt_fd_, 2);  // not formatted yet
        }
    }
    if (region) {
        ring::RequestConsumer requests(*region);
        ring::VerdictProducer verdicts(*region);
        attached_ = true;
        std::vector<ring::FilterRequest> batch;
        while (!stop_) {
            batch.clear();
            Result<size_t> got = requests.Receive(batch, 64);
            if (!got.ok()) {
                Fail(got.status().message());
                break;
            }
            if (*got > 0) {
                requests_ += static_cast<int>(*got);
                {
                    std::lock_guard<std::mutex> lock(mutex_);
                    seen_.insert(seen_.end(), batch.begin(), batch.end());
                }
                if (!Answer(verdicts, batch)) break;
                continue;
            }
            Result<bool> sleep = requests.PrepareToSleep();
            if (!sleep.ok()) {
                Fail(sleep.status().message());
                break;
            }
            if (*sleep) WaitOn(interrupt_fd_, 20);
        }
    }
    munmap(base, region_size_);
}

}  // namespace hvkit::filterd::testing
