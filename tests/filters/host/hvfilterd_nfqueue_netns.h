// The world of the NFQUEUE integration tests: a fresh network namespace
// with loopback up, UDP sockets on it, and a guest link that answers by a
// test rule. Everything waits with bounded, generous limits.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <deque>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "hvkit/filterd/dispatcher.h"
#include "hvkit/filterd/guest_link.h"
#include "hvkit/filterd/nfqueue_source.h"

namespace hvkit::filterd::testing {

// Why these tests cannot run here, or "" when they can: they need root and
// a kernel with nfnetlink_queue.
inline std::string NetfilterUnavailable() {
    if (geteuid() != 0) return "needs root (CAP_NET_ADMIN) for nftables and NFQUEUE";
    if (access("/proc/net/netfilter/nfnetlink_queue", F_OK) != 0) {
        return "the kernel has no nfnetlink_queue (/proc/net/netfilter/nfnetlink_queue)";
    }
    return "";
}

// Moves the calling process into a new network namespace and brings its
// loopback up; "" on success, else what failed.
inline std::string EnterFreshNetns() {
    if (unshare(CLONE_NEWNET) != 0) return std::string("unshare(CLONE_NEWNET): ") + strerror(errno);
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    ifreq ifr{};
    std::strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
    bool ok = s >= 0 && ioctl(s, SIOCGIFFLAGS, &ifr) == 0;
    ifr.ifr_flags |= IFF_UP;
    ok = ok && ioctl(s, SIOCSIFFLAGS, &ifr) == 0;
    std::string err = ok ? "" : std::string("bringing lo up: ") + strerror(errno);
    if (s >= 0) close(s);
    return err;
}

// A UDP socket on the loopback address of (family) and port (port); port 0
// picks one. Non-blocking.
class UdpSocket {
  public:
    UdpSocket(int family, uint16_t port) : family_(family) {
        fd_ = socket(family, SOCK_DGRAM | SOCK_NONBLOCK, 0);
        sockaddr_storage a = Loopback(port);
        if (fd_ >= 0) bound_ = bind(fd_, reinterpret_cast<sockaddr*>(&a), Len()) == 0;
    }
    ~UdpSocket() {
        if (fd_ >= 0) close(fd_);
    }
    bool ok() const { return fd_ >= 0 && bound_; }

    // Sends (text) to (port) on loopback; returns errno, 0 on success.
    int SendTo(uint16_t port, const std::string& text) {
        sockaddr_storage a = Loopback(port);
        ssize_t n =
            sendto(fd_, text.data(), text.size(), 0, reinterpret_cast<sockaddr*>(&a), Len());
        return n < 0 ? errno : 0;
    }

    // Appends every datagram waiting now to (into).
    void Drain(std::vector<std::string>& into) {
        char buf[65536];
        for (;;) {
            ssize_t n = recv(fd_, buf, sizeof(buf), 0);
            if (n < 0) return;
            into.emplace_back(buf, static_cast<size_t>(n));
        }
    }

  private:
    sockaddr_storage Loopback(uint16_t port) const {
        sockaddr_storage s{};
        if (family_ == AF_INET) {
            auto* a = reinterpret_cast<sockaddr_in*>(&s);
            a->sin_family = AF_INET;
            a->sin_port = htons(port);
            a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        } else {
            auto* a = reinterpret_cast<sockaddr_in6*>(&s);
            a->sin6_family = AF_INET6;
            a->sin6_port = htons(port);
            a->sin6_addr = in6addr_loopback;
        }
        return s;
    }
    socklen_t Len() const {
        return family_ == AF_INET ? sizeof(sockaddr_in) : sizeof(sockaddr_in6);
    }

    int family_;
    int fd_ = -1;
    bool bound_ = false;
};

// A guest that answers each packet by its payload: "drop-me" -> DROP,
// "secret" -> CHANGED with "XXXXXX" in its place, else PASS. Silent, it
// takes items and never answers.
class RuleGuest final : public GuestLink {
  public:
    bool Attached() const override { return true; }
    SendOutcome Send(const Item& item) override {
        ++sent;
        if (!silent) answers.emplace_back(item.id, Decide(item.payload));
        return SendOutcome::kSent;
    }

    // Hands the answers gathered so far to (dispatcher).
    void Deliver(Dispatcher& dispatcher) {
        while (!answers.empty()) {
            auto [id, verdict] = std::move(answers.front());
            answers.pop_front();
            dispatcher.OnVerdict(id, std::move(verdict));
        }
    }

    bool silent = false;
    int sent = 0;

  private:
    static Verdict Decide(std::vector<uint8_t> packet) {
        std::string text(packet.begin(), packet.end());
        if (text.find("drop-me") != std::string::npos) return Verdict::Drop();
        if (text.find("reroute-me") != std::string::npos && !packet.empty()) {
            // A hostile guest: the TTL (IPv4) or hop limit (IPv6) rewritten,
            // a header field only, the payload kept.
            packet[(packet[0] >> 4) == 4 ? 8 : 7] = 1;
            return Verdict::Changed(std::move(packet));
        }
        size_t at = text.find("secret");
        if (at == std::string::npos) return Verdict::Pass();
        std::memcpy(packet.data() + at, "XXXXXX", 6);
        return Verdict::Changed(std::move(packet));
    }

    std::deque<std::pair<ItemId, Verdict>> answers;
};

// hvfilterd's event loop in miniature, run until (done) or (limit):
// packets in, guest answers, deadlines, verdicts out. (receiver) is drained
// into (received) on every turn. Returns whether (done) became true.
inline bool RunLoop(NfqueueSource& source, Dispatcher& dispatcher, RuleGuest& guest,
                    UdpSocket& receiver, std::vector<std::string>& received,
                    const std::function<bool()>& done,
                    std::chrono::milliseconds limit = std::chrono::seconds(10)) {
    auto until = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < until) {
        pollfd p{source.fd(), POLLIN, 0};
        int timeout = dispatcher.PollTimeoutMs();
        if (timeout < 0 || timeout > 10) timeout = 10;
        poll(&p, 1, timeout);
        Status st = source.OnReadable();
        EXPECT_TRUE(st.ok()) << st.message();
        guest.Deliver(dispatcher);
        dispatcher.Tick();
        st = source.Flush();
        EXPECT_TRUE(st.ok()) << st.message();
        receiver.Drain(received);
        if (done()) return true;
    }
    return false;
}

// The UDP InCsumErrors counter of the current network namespace.
inline long UdpChecksumErrors() {
    std::ifstream in("/proc/net/snmp");
    std::string header, values, line;
    while (std::getline(in, line)) {
        if (line.rfind("Udp:", 0) != 0) continue;
        if (header.empty()) {
            header = line;
        } else {
            values = line;
            break;
        }
    }
    std::istringstream h(header), v(values);
    std::string name, value;
    while (h >> name && v >> value) {
        if (name == "InCsumErrors") return std::stol(value);
    }
    return -1;
}

}  // namespace hvkit::filterd::testing
