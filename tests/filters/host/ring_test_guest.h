// A "guest" for hvfilterd's tests: a thread that maps the filter region
// hvfilterd formatted, attaches with the ring library as a real guest
// would, and answers each request with a function of it. Silent, it takes
// requests and answers none.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "hvkit/filter_ring.h"

namespace hvkit::filterd::testing {

// The guest's answer to one request, or nullopt to leave it unanswered.
using GuestAnswer =
    std::function<std::optional<filter_ring::FilterVerdict>(const filter_ring::FilterRequest&)>;

class RingTestGuest {
  public:
    // Starts the thread; it attaches once the region in (region_fd) of
    // (region_size) bytes is formatted. (doorbell_fd) is kicked for
    // verdicts; (interrupt_fd) wakes it for requests.
    RingTestGuest(int region_fd, uint64_t region_size, int doorbell_fd, int interrupt_fd,
                  GuestAnswer answer);
    ~RingTestGuest();
    RingTestGuest(const RingTestGuest&) = delete;
    RingTestGuest& operator=(const RingTestGuest&) = delete;

    // Waits up to (limit) for the thread to attach.
    bool WaitAttached(std::chrono::milliseconds limit = std::chrono::seconds(10)) const;
    void set_silent(bool silent) { silent_ = silent; }
    int requests() const { return requests_.load(); }
    // Copies of the requests seen so far (bytes included).
    std::vector<filter_ring::FilterRequest> seen() const;
    // The first ring error the guest met, or "".
    std::string error() const;

  private:
    void Loop();
    bool Answer(filter_ring::VerdictProducer& producer,
                const std::vector<filter_ring::FilterRequest>& batch);
    void Fail(const std::string& message);

    int region_fd_;
    uint64_t region_size_;
    int doorbell_fd_;
    int interrupt_fd_;
    GuestAnswer answer_;
    std::atomic<bool> stop_{false};
    std::atomic<bool> silent_{false};
    std::atomic<bool> attached_{false};
    std::atomic<int> requests_{0};
    mutable std::mutex mutex_;
    std::vector<filter_ring::FilterRequest> seen_;
    std::string error_;
    std::thread thread_;
};

}  // namespace hvkit::filterd::testing
