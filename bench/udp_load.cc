// Closed-loop UDP load between two network namespaces, measuring the rate
// and the one-way latency of what arrives (docs/benchmarks.md, "Filters").
//
//   bench_udp_load [--from-netns A] [--to-netns B] --to IPV4:PORT --packets N
//                  --window W --payload BYTES [--drop-marker-every K]
//                  [--timeout-ms T]
//
// One process: the sender socket is created inside netns A and the receiver
// socket, bound to IPV4:PORT, inside netns B (/run/netns/NAME, as `ip netns`
// names them; an absent option means this process's namespace). At most W
// packets are sent and not yet received, so a queue on the way never
// overflows. Every K-th packet carries the drop marker; it is counted in
// expected_drops, holds no window slot and is not waited for. A packet not
// received within T ms (default 1000) is lost and frees its slot. Both
// clocks are this kernel's CLOCK_MONOTONIC, so one-way latency is valid.
//
// Payload (this host's byte order; both ends are this process):
//   [0, 10)   "HVKIT-DROP" (a rule should drop it) or "HVKIT-LOAD"; at
//             offset 0 so a pcap rule can match it: udp[8:4] = 0x48564b49
//             and udp[12:4] = 0x542d4452 and udp[16:2] = 0x4f50
//   [16, 24)  sequence number 0..N-1
//   [24, 32)  send time, CLOCK_MONOTONIC ns
//   the rest  zero
//
// Prints one JSON line: sent, received, lost, expected_drops, unexpected
// (drop-marked, duplicate, late or malformed datagrams that arrived),
// seconds (first send to the last packet received or lost), pps (received
// / seconds), p50_us, p99_us, max_us (latency of the received packets).
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "filter_bench_common.h"
#include "hvkit/fs.h"

namespace hvkit::bench {
namespace {

constexpr const char* kTool = "bench_udp_load";
constexpr const char* kUsage =
    "usage: bench_udp_load [--from-netns A] [--to-netns B] --to IPV4:PORT --packets N --window W "
    "--payload BYTES [--drop-marker-every K] [--timeout-ms T]";

constexpr char kDropMarker[] = "HVKIT-DROP";
constexpr char kLoadMarker[] = "HVKIT-LOAD";
constexpr size_t kMarkerBytes = 10;
constexpr size_t kSeqAt = 16;
constexpr size_t kSentAt = 24;
constexpr size_t kHeaderBytes = 32;
constexpr size_t kMaxPayload = 65507;  // the largest UDP payload over IPv4
constexpr uint64_t kDrainNs = 100000000;

struct LoadOptions {
    std::string from_netns, to_netns;
    sockaddr_in to{};
    uint64_t packets = 0, window = 0, payload = 0, drop_every = 0;
    uint64_t timeout_ns = 0;
};

Result<sockaddr_in> ParseAddress(const std::string& text) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    size_t colon = text.rfind(':');
    std::string host = text.substr(0, colon);
    Result<int64_t> port = colon == std::string::npos
                               ? Result<int64_t>(Error(ErrorCode::kInvalidArgument, ""))
                               : cli::ParseInteger("port", text.substr(colon + 1), 1, 65535);
    if (!port.ok() || inet_pton(AF_INET, host.c_str(), &a.sin_addr) != 1) {
        return Error(ErrorCode::kInvalidArgument,
                     "--to " + text + ": must be IPV4:PORT, e.g. 10.77.0.2:9000");
    }
    a.sin_port = htons(static_cast<uint16_t>(*port));
    return a;
}

Result<LoadOptions> ParseOptions(const std::vector<std::string>& argv) {
    HVKIT_ASSIGN_OR_RETURN(
        cli::Args args,
        cli::ParseArgs(argv, {{"--from-netns", "--to-netns", "--to", "--packets", "--window",
                               "--payload", "--drop-marker-every", "--timeout-ms"}}));
    LoadOptions o;
    HVKIT_ASSIGN_OR_RETURN(auto from, args.One("--from-netns"));
    HVKIT_ASSIGN_OR_RETURN(auto to, args.One("--to-netns"));
    o.from_netns = from.value_or("");
    o.to_netns = to.value_or("");
    HVKIT_ASSIGN_OR_RETURN(std::string address, args.Required("--to"));
    HVKIT_ASSIGN_OR_RETURN(o.to, ParseAddress(address));
    HVKIT_ASSIGN_OR_RETURN(o.packets, RequiredInteger(args, "--packets", 1, 10000000));
    HVKIT_ASSIGN_OR_RETURN(o.window, RequiredInteger(args, "--window", 1, 65536));
    HVKIT_ASSIGN_OR_RETURN(o.payload,
                           RequiredInteger(args, "--payload", kHeaderBytes, kMaxPayload));
    HVKIT_ASSIGN_OR_RETURN(o.drop_every,
                           IntegerOption(args, "--drop-marker-every", 0, 10000000, 0));
    HVKIT_ASSIGN_OR_RETURN(int64_t timeout_ms, IntegerOption(args, "--timeout-ms", 1, 60000, 1000));
    o.timeout_ns = static_cast<uint64_t>(timeout_ms) * 1000000;
    return o;
}

// A UDP socket created inside network namespace (netns) ("" = this one);
// the thread returns to its own namespace before this returns.
Result<UniqueFd> UdpSocketIn(const std::string& option, const std::string& netns) {
    auto socket_here = [&]() -> Result<UniqueFd> {
        UniqueFd fd(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
        if (!fd.valid()) return Error(ErrorCode::kIo, std::string("socket: ") + strerror(errno));
        return fd;
    };
    if (netns.empty()) return socket_here();
    std::string what = option + " " + netns;
    std::string path = "/run/netns/" + netns;
    UniqueFd target(open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!target.valid()) {
        return Error(ErrorCode::kNotFound, what + ": " + path + ": " + strerror(errno) +
                                               " (create it with `ip netns add " + netns + "`)");
    }
    UniqueFd self(open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC));
    if (!self.valid()) return Error(ErrorCode::kIo, what + ": own netns: " + strerror(errno));
    if (setns(target.get(), CLONE_NEWNET) != 0) {
        return Error(ErrorCode::kIo,
                     what + ": setns: " + strerror(errno) + " (needs CAP_SYS_ADMIN: run as root)");
    }
    Result<UniqueFd> fd = socket_here();
    if (setns(self.get(), CLONE_NEWNET) != 0) {
        return Error(ErrorCode::kIo, what + ": returning to own netns: " + strerror(errno));
    }
    if (!fd.ok()) return fd.status().WithContext(what);
    return fd;
}

// What became of each sequence number.
enum class Fate : uint8_t { kUnsent, kPending, kDropMarked, kReceived, kLost };

class LoadRun {
  public:
    LoadRun(const LoadOptions& o, int tx, int rx)
        : o_(o), tx_(tx), rx_(rx), fate_(o.packets, Fate::kUnsent), sent_ns_(o.packets, 0) {
        latency_ns_.reserve(o.packets);
    }

    Status Run() {
        start_ns_ = MonotonicNs();
        uint64_t next = 0;
        while (next < o_.packets || in_flight_ > 0) {
            while (next < o_.packets && in_flight_ < o_.window) {
                HVKIT_RETURN_IF_ERROR(Send(next++));
            }
            HVKIT_ASSIGN_OR_RETURN(size_t got, ReceiveReady());
            ExpireLost(MonotonicNs());
            bool can_send = next < o_.packets && in_flight_ < o_.window;
            if (got == 0 && !can_send && in_flight_ > 0) HVKIT_RETURN_IF_ERROR(Wait());
        }
        end_ns_ = MonotonicNs();
        // Not timed: what still arrives is unexpected (a drop-marked or late packet).
        uint64_t drain_until = end_ns_ + std::min(o_.timeout_ns, kDrainNs);
        for (uint64_t now = end_ns_; now < drain_until; now = MonotonicNs()) {
            pollfd p{rx_, POLLIN, 0};
            if (poll(&p, 1, static_cast<int>((drain_until - now + 999999) / 1000000)) > 0) {
                HVKIT_RETURN_IF_ERROR(ReceiveReady().status());
            }
        }
        return Status::Ok();
    }

    void Print() {
        double seconds = static_cast<double>(end_ns_ - start_ns_) / 1e9;
        std::sort(latency_ns_.begin(), latency_ns_.end());
        std::printf(
            "{\"sent\":%llu,\"received\":%llu,\"lost\":%llu,\"expected_drops\":%llu,"
            "\"unexpected\":%llu,\"seconds\":%.6f,\"pps\":%.0f,\"p50_us\":%.1f,\"p99_us\":%.1f,"
            "\"max_us\":%.1f}\n",
            Ull(sent_), Ull(latency_ns_.size()), Ull(lost_), Ull(expected_drops_), Ull(unexpected_),
            seconds, seconds > 0 ? static_cast<double>(latency_ns_.size()) / seconds : 0.0,
            Percentile(0.50), Percentile(0.99), Percentile(1.0));
    }

  private:
    static unsigned long long Ull(uint64_t v) { return static_cast<unsigned long long>(v); }

    // Nearest-rank percentile (p) of the sorted latencies, in microseconds.
    double Percentile(double p) const {
        if (latency_ns_.empty()) return 0;
        auto rank = static_cast<size_t>(std::ceil(p * static_cast<double>(latency_ns_.size())));
        return static_cast<double>(
                   latency_ns_[std::clamp<size_t>(rank, 1, latency_ns_.size()) - 1]) /
               1e3;
    }

    Status Send(uint64_t seq) {
        bool drop = o_.drop_every && (seq + 1) % o_.drop_every == 0;
        std::vector<uint8_t>& p = packet_;
        p.assign(o_.payload, 0);
        std::memcpy(p.data(), drop ? kDropMarker : kLoadMarker, kMarkerBytes);
        std::memcpy(p.data() + kSeqAt, &seq, sizeof(seq));
        uint64_t now = MonotonicNs();
        std::memcpy(p.data() + kSentAt, &now, sizeof(now));
        for (;;) {
            ssize_t n = sendto(tx_, p.data(), p.size(), 0,
                               reinterpret_cast<const sockaddr*>(&o_.to), sizeof(o_.to));
            if (n >= 0) break;
            if (errno == EINTR) continue;
            return Error(ErrorCode::kIo,
                         "sending packet " + std::to_string(seq) + ": " + strerror(errno));
        }
        ++sent_;
        sent_ns_[seq] = now;
        if (drop) {
            fate_[seq] = Fate::kDropMarked;
            ++expected_drops_;
            return Status::Ok();
        }
        fate_[seq] = Fate::kPending;
        order_.push_back(seq);
        ++in_flight_;
        return Status::Ok();
    }

    // Reads every datagram waiting now; -> how many.
    Result<size_t> ReceiveReady() {
        size_t count = 0;
        for (;;) {
            ssize_t n = recv(rx_, rx_buf_, sizeof(rx_buf_), MSG_DONTWAIT);
            uint64_t now = MonotonicNs();
            if (n < 0) {
                if (errno == EINTR) continue;
                if (errno == EAGAIN || errno == EWOULDBLOCK) return count;
                return Error(ErrorCode::kIo, std::string("receiving: ") + strerror(errno));
            }
            ++count;
            Account(static_cast<size_t>(n), now);
        }
    }

    void Account(size_t n, uint64_t now) {
        uint64_t seq = 0, sent = 0;
        if (n >= kHeaderBytes) {
            std::memcpy(&seq, rx_buf_ + kSeqAt, sizeof(seq));
            std::memcpy(&sent, rx_buf_ + kSentAt, sizeof(sent));
        }
        bool ours = n >= kHeaderBytes && std::memcmp(rx_buf_, kLoadMarker, kMarkerBytes) == 0 &&
                    seq < o_.packets && fate_[seq] == Fate::kPending && sent == sent_ns_[seq];
        if (!ours) {
            ++unexpected_;
            return;
        }
        fate_[seq] = Fate::kReceived;
        --in_flight_;
        latency_ns_.push_back(now - sent);
    }

    // Counts as lost every pending packet sent (timeout) or more ago.
    void ExpireLost(uint64_t now) {
        while (!order_.empty()) {
            uint64_t seq = order_.front();
            if (fate_[seq] == Fate::kPending) {
                if (sent_ns_[seq] + o_.timeout_ns > now) return;
                fate_[seq] = Fate::kLost;
                ++lost_;
                --in_flight_;
            }
            order_.pop_front();
        }
    }

    // Sleeps until a datagram arrives or the oldest pending packet is lost.
    Status Wait() {
        while (!order_.empty() && fate_[order_.front()] != Fate::kPending) order_.pop_front();
        if (order_.empty()) return Status::Ok();
        uint64_t deadline = sent_ns_[order_.front()] + o_.timeout_ns;
        uint64_t now = MonotonicNs();
        int timeout = deadline > now ? static_cast<int>((deadline - now + 999999) / 1000000) : 0;
        pollfd p{rx_, POLLIN, 0};
        if (poll(&p, 1, timeout) < 0 && errno != EINTR) {
            return Error(ErrorCode::kIo, std::string("poll: ") + strerror(errno));
        }
        return Status::Ok();
    }

    const LoadOptions& o_;
    int tx_, rx_;
    std::vector<Fate> fate_;
    std::vector<uint64_t> sent_ns_;
    std::deque<uint64_t> order_;  // pending packets, oldest first
    std::vector<uint64_t> latency_ns_;
    std::vector<uint8_t> packet_;
    uint8_t rx_buf_[kMaxPayload + 1];
    uint64_t in_flight_ = 0, sent_ = 0, lost_ = 0, expected_drops_ = 0, unexpected_ = 0;
    uint64_t start_ns_ = 0, end_ns_ = 0;
};

int Main(const std::vector<std::string>& argv) {
    Result<LoadOptions> options = ParseOptions(argv);
    if (!options.ok()) return Fail(kTool, options.status().message() + "\n" + kUsage, 2);
    const LoadOptions& o = *options;
    Result<UniqueFd> rx = UdpSocketIn("--to-netns", o.to_netns);
    if (!rx.ok()) return Fail(kTool, rx.status().message(), 1);
    Result<UniqueFd> tx = UdpSocketIn("--from-netns", o.from_netns);
    if (!tx.ok()) return Fail(kTool, tx.status().message(), 1);
    if (bind(rx->get(), reinterpret_cast<const sockaddr*>(&o.to), sizeof(o.to)) != 0) {
        char addr[INET_ADDRSTRLEN] = "";
        inet_ntop(AF_INET, &o.to.sin_addr, addr, sizeof(addr));
        return Fail(kTool,
                    std::string("binding the receiver to ") + addr + ":" +
                        std::to_string(ntohs(o.to.sin_port)) + " in netns '" + o.to_netns +
                        "': " + strerror(errno) + " (--to must be an address of --to-netns)",
                    1);
    }
    // Room for a whole window, so the receiver never drops what the filter let through.
    int size = 8 << 20;
    if (setsockopt(rx->get(), SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) != 0) {
        (void)setsockopt(rx->get(), SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
    }
    auto run =
        std::make_unique<LoadRun>(o, tx->get(), rx->get());  // 64 KiB buffer: not on the stack
    Status st = run->Run();
    if (!st.ok()) return Fail(kTool, st.message(), 1);
    run->Print();
    return 0;
}

}  // namespace
}  // namespace hvkit::bench

int main(int argc, char** argv) {
    return hvkit::bench::Main(std::vector<std::string>(argv + 1, argv + argc));
}
