#include "fake_hvmm_control.h"

#include <fcntl.h>

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <vector>

namespace hvkit::filterd::testing {

FakeHvmmControl::FakeHvmmControl(std::string socket_path, uint64_t region_size, AttachReply reply)
    : path_(std::move(socket_path)), region_size_(region_size), reply_(reply) {
    // Sealed as hvmm seals it (vstate/memfd.cc).
    region_ = UniqueFd(memfd_create("hvfilter-region", MFD_CLOEXEC | MFD_ALLOW_SEALING));
    unsealed_ = UniqueFd(memfd_create("hvfilter-unsealed", MFD_CLOEXEC));
    zero_ = UniqueFd(open("/dev/zero", O_RDONLY | O_CLOEXEC));
    doorbell_ = UniqueFd(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    interrupt_ = UniqueFd(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    stop_ = UniqueFd(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    listener_ = UniqueFd(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path_.c_str(), sizeof(addr.sun_path) - 1);
    listening_ =
        region_.valid() && doorbell_.valid() && interrupt_.valid() && stop_.valid() &&
        listener_.valid() && ftruncate(region_.get(), static_cast<off_t>(region_size)) == 0 &&
        fcntl(region_.get(), F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW) == 0 && unsealed_.valid() &&
        zero_.valid() && ftruncate(unsealed_.get(), static_cast<off_t>(region_size)) == 0 &&
        bind(listener_.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
        listen(listener_.get(), 4) == 0;
    if (listening_) thread_ = std::thread([this] { Serve(); });
}

FakeHvmmControl::~FakeHvmmControl() {
    const uint64_t one = 1;
    [[maybe_unused]] ssize_t n = write(stop_.get(), &one, sizeof(one));
    if (thread_.joinable()) thread_.join();
    unlink(path_.c_str());
}

void FakeHvmmControl::Serve() {
    std::vector<UniqueFd> clients;  // open until the fake ends, as hvmm keeps them
    for (;;) {
        pollfd fds[2] = {{listener_.get(), POLLIN, 0}, {stop_.get(), POLLIN, 0}};
        if (poll(fds, 2, -1) < 0) continue;
        if (fds[1].revents != 0) return;
        UniqueFd client(accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC));
        if (!client.valid()) continue;
        Answer(client.get());
        clients.push_back(std::move(client));
    }
}

void FakeHvmmControl::Answer(int client) {
    // Read the request line; the client sends it whole.
    std::string line;
    char c;
    while (line.size() < 4096 && read(client, &c, 1) == 1 && c != '\n') line += c;
    std::string response;
    std::vector<int> fds = {region_.get(), doorbell_.get(), interrupt_.get()};
    if (line != "{\"cmd\":\"filter-attach\"}") {
        response = "{\"ok\":false,\"error\":\"unknown command\"}\n";
        fds.clear();
    } else if (reply_ == AttachReply::kRefuse) {
        response = "{\"ok\":false,\"error\":\"filter rings are not enabled for this VM\"}\n";
        fds.clear();
    } else {
        int major = reply_ == AttachReply::kWrongMajor ? 7 : 0;
        response = "{\"ok\":true,\"region_size\":" + std::to_string(region_size_) +
                   ",\"abi_major\":" + std::to_string(major) + ",\"abi_minor\":1}\n";
        if (reply_ == AttachReply::kNoFds) fds.clear();
        if (reply_ == AttachReply::kTwoFds) fds.pop_back();
        if (reply_ == AttachReply::kUnsealedRegion) fds[0] = unsealed_.get();
        if (reply_ == AttachReply::kDoorbellNotEventfd) fds[1] = zero_.get();
        if (reply_ == AttachReply::kInterruptNotEventfd) fds[2] = zero_.get();
    }
    iovec iov{response.data(), response.size()};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    alignas(cmsghdr) char control[CMSG_SPACE(3 * sizeof(int))] = {};
    if (!fds.empty()) {
        msg.msg_control = control;
        msg.msg_controllen = CMSG_SPACE(fds.size() * sizeof(int));
        cmsghdr* cmsg = CMSG_FIRSTHDR(&msg);
        cmsg->cmsg_level = SOL_SOCKET;
        cmsg->cmsg_type = SCM_RIGHTS;
        cmsg->cmsg_len = CMSG_LEN(fds.size() * sizeof(int));
        std::memcpy(CMSG_DATA(cmsg), fds.data(), fds.size() * sizeof(int));
    }
    ++attaches_;  // before the answer, so a client that has it sees the count
    [[maybe_unused]] ssize_t n = sendmsg(client, &msg, MSG_NOSIGNAL);
}

}  // namespace hvkit::filterd::testing
