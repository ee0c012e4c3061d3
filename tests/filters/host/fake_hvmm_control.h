// A stand-in for hvmm's control socket as hvfilterd sees it: it answers
// {"cmd":"filter-attach"} with a one-line JSON response and, by SCM_RIGHTS,
// the filter region's memfd, doorbell eventfd and interrupt eventfd. It
// keeps its own copies of all three, which the tests' "guest" uses. Like
// hvmm it keeps each connection open until it ends: destroying the fake is
// hvmm exiting.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <thread>

#include "hvkit/fs.h"

namespace hvkit::filterd::testing {

// How the fake answers, to exercise the client's rules.
enum class AttachReply {
    kGood,                 // {"ok":true,...} with the 3 fds
    kRefuse,               // {"ok":false,"error":"filter rings are not enabled for this VM"}
    kNoFds,                // a good line, no fds
    kTwoFds,               // a good line, 2 fds
    kWrongMajor,           // abi_major 7, with the 3 fds
    kUnsealedRegion,       // a region memfd without seals (it could be truncated)
    kDoorbellNotEventfd,   // /dev/zero as the doorbell
    kInterruptNotEventfd,  // /dev/zero as the interrupt
};

class FakeHvmmControl {
  public:
    // Creates the region memfd of (region_size) bytes and the two eventfds,
    // and serves (socket_path) on a thread until destroyed, when it closes
    // every connection.
    FakeHvmmControl(std::string socket_path, uint64_t region_size,
                    AttachReply reply = AttachReply::kGood);
    ~FakeHvmmControl();
    FakeHvmmControl(const FakeHvmmControl&) = delete;
    FakeHvmmControl& operator=(const FakeHvmmControl&) = delete;

    bool ok() const { return listening_; }
    int region_fd() const { return region_.get(); }
    int doorbell_fd() const { return doorbell_.get(); }
    int interrupt_fd() const { return interrupt_.get(); }
    uint64_t region_size() const { return region_size_; }
    // Requests answered so far.
    int attaches() const { return attaches_.load(); }

  private:
    void Serve();
    void Answer(int client);

    std::string path_;
    uint64_t region_size_;
    AttachReply reply_;
    UniqueFd region_, doorbell_, interrupt_, listener_, stop_;
    UniqueFd unsealed_, zero_;  // the wrong fds some replies pass
    bool listening_ = false;
    std::atomic<int> attaches_{0};
    std::thread thread_;
};

}  // namespace hvkit::filterd::testing
