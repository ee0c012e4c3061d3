// virtio-net (virtio 1.x, 5.1) on a TAP. Queue 0 receives, queue 1
// transmits; no control queue, no offloads, no mergeable buffers. Frames
// cross the TAP with their virtio_net_hdr_v1 (12 bytes) unchanged.
//
// TX runs on the vCPU thread that notified. RX runs on a thread of its own:
// it polls the TAP, the kick eventfd (the driver added receive buffers, or
// the device's liveness changed) and the stop eventfd, and hands frames to
// the guest through the transport's WithLiveQueue, which locks and interrupts.
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/uio.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <thread>

#include "arch/x86_64/layout.h"
#include "virtio/virtio.h"

namespace hvkit::hvmm {

namespace {

constexpr uint64_t kFeatureMac = 1ull << 5;
constexpr uint64_t kFeatureStatus = 1ull << 16;
constexpr uint16_t kLinkUp = 1;
constexpr uint32_t kClassEthernet = 0x020000;
constexpr uint16_t kRxQueue = 0;
constexpr uint16_t kTxQueue = 1;
constexpr size_t kHeaderSize = 12;  // virtio_net_hdr_v1
constexpr size_t kNumBuffersOffset = 10;
// A header and the largest frame a TAP hands over without GSO (64 KiB MTU).
constexpr size_t kMaxPacket = kHeaderSize + 65535 + 18;
constexpr int kFramesPerWakeup = 256;

void Kick(int fd) {
    uint64_t one = 1;
    ssize_t n = write(fd, &one, sizeof one);
    (void)n;  // the counter only saturates; the reader is woken either way
}

class VirtioNet final : public VirtioDevice {
  public:
    VirtioNet(TapDevice tap, std::array<uint8_t, 6> mac, bool quiesced)
        : tap_(std::move(tap)),
          mac_(mac),
          kick_(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)),
          stop_(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)),
          quiesced_(quiesced) {}
    ~VirtioNet() override { Shutdown(); }

    std::string_view name() const override { return "virtio-net"; }
    void ShareFds(std::vector<SharedFd>& out) const override {
        out.push_back({"virtio-net.tap", tap_.fd.get()});
    }
    uint16_t device_type() const override { return virtio::kTypeNet; }
    uint32_t pci_class() const override { return kClassEthernet; }
    uint64_t features() const override { return kFeatureMac | kFeatureStatus; }
    uint16_t queue_count() const override { return 2; }

    // struct virtio_net_config: mac, status, max_virtqueue_pairs.
    std::vector<uint8_t> config() const override {
        std::vector<uint8_t> c(mac_.begin(), mac_.end());
        c.push_back(kLinkUp & 0xff);
        c.push_back(kLinkUp >> 8);
        c.push_back(1);
        c.push_back(0);
        return c;
    }

    void Attach(VirtioQueueHost& host) override {
        host_ = &host;
        if (!quiesced_) receiver_ = std::thread([this] { Receive(); });
    }

    // The receiver stops between frames; a frame it holds for want of
    // buffers stays held (packet_) until it runs again.
    void Quiesce() override {
        quiesced_ = true;
        StopReceiver();
    }

    void Unquiesce() override {
        quiesced_ = false;
        if (host_ != nullptr && !receiver_.joinable() && !shut_down_) {
            receiver_ = std::thread([this] { Receive(); });
        }
    }

    void QueueNotified(uint16_t index, VirtQueue& queue, uint64_t) override {
        if (index == kRxQueue) {
            Kick(kick_.get());
            return;
        }
        while (auto chain = queue.Pop()) {
            Transmit(queue.memory(), *chain);
            queue.Push(chain->head, 0);
        }
    }

    void LivenessChanged() override { Kick(kick_.get()); }

    void Shutdown() override {
        if (shut_down_) return;
        shut_down_ = true;
        StopReceiver();
        if (tx_dropped_ || rx_dropped_) {
            fprintf(stderr, "hvmm: virtio-net on %s: dropped %llu frames sent, %llu received\n",
                    tap_.name.c_str(), static_cast<unsigned long long>(tx_dropped_.load()),
                    static_cast<unsigned long long>(rx_dropped_.load()));
        }
    }

  private:
    void StopReceiver() {
        if (!receiver_.joinable()) return;
        Kick(stop_.get());
        receiver_.join();
        uint64_t count;
        ssize_t n = read(stop_.get(), &count, sizeof count);  // ready to run again
        (void)n;
    }

    // One frame the guest sent: header and frame, gathered from the chain's
    // readable part straight into one writev to the TAP.
    void Transmit(GuestMemory& memory, const DescriptorChain& chain) {
        if (chain.readable_bytes < kHeaderSize || chain.readable_bytes > kMaxPacket) {
            ++tx_dropped_;
            return;
        }
        auto spans = ChainSpans(memory, chain, false, 0, chain.readable_bytes);
        if (!spans.ok()) {
            ++tx_dropped_;
            return;
        }
        std::vector<iovec> iov;
        for (auto s : *spans) iov.push_back({s.data(), s.size()});
        ssize_t n;
        do {
            n = writev(tap_.fd.get(), iov.data(), static_cast<int>(iov.size()));
        } while (n < 0 && errno == EINTR);
        // A full TAP queue (EAGAIN) drops the frame, as a busy wire would.
        if (n < 0) ++tx_dropped_;
    }

    // The receiver thread. (packet) holds at most one frame read from the TAP
    // and not yet delivered; while it waits for receive buffers the TAP is
    // not polled.
    void Receive() {
        // Host signals (SIGINT, SIGTERM) belong to the main thread's
        // signalfd; this thread starts before hvmm blocks them there.
        sigset_t all;
        sigfillset(&all);
        pthread_sigmask(SIG_BLOCK, &all, nullptr);
        std::vector<uint8_t>& packet = packet_;
        size_t& pending = pending_;
        for (;;) {
            pollfd fds[3] = {
                {stop_.get(), POLLIN, 0},
                {kick_.get(), POLLIN, 0},
                {tap_.fd.get(), static_cast<short>(pending == 0 ? POLLIN : 0), 0},
            };
            if (poll(fds, 3, -1) < 0 && errno != EINTR) return;
            if (fds[0].revents) return;
            if (fds[1].revents) {
                uint64_t count;
                ssize_t n = read(kick_.get(), &count, sizeof count);
                (void)n;
            }
            // Bounded, so a flood from the host side cannot keep the
            // thread from seeing the stop eventfd.
            for (int i = 0; i < kFramesPerWakeup && Deliver(packet, pending); ++i) {
            }
        }
    }

    // Reads a frame if none is pending and offers it to the guest; true when
    // it is worth trying again at once.
    bool Deliver(std::vector<uint8_t>& packet, size_t& pending) {
        if (pending == 0) {
            ssize_t n = read(tap_.fd.get(), packet.data(), packet.size());
            if (n < 0) return false;  // EAGAIN: nothing more now
            if (static_cast<size_t>(n) <= kHeaderSize) {
                ++rx_dropped_;
                return true;
            }
            pending = static_cast<size_t>(n);
            // num_buffers: 1 chain per frame without mergeable buffers.
            packet[kNumBuffersOffset] = 1;
            packet[kNumBuffersOffset + 1] = 0;
        }
        bool delivered = false;
        bool live = host_->WithLiveQueue(kRxQueue, [&](VirtQueue& queue, uint64_t) {
            auto chain = queue.Pop();
            if (!chain) return;  // no buffers: wait for a kick
            if (chain->writable_bytes < pending) {
                queue.Unpop();  // the buffer stays for a frame that fits
                ++rx_dropped_;
                pending = 0;
                return;
            }
            auto span = std::span<const uint8_t>(packet.data(), pending);
            if (WriteToChain(queue.memory(), *chain, 0, span).ok()) {
                queue.Push(chain->head, static_cast<uint32_t>(pending));
            } else {
                queue.Push(chain->head, 0);  // checked at Pop: not expected
                ++rx_dropped_;
            }
            delivered = true;
        });
        if (!live) {
            // Nobody to give it to (not DRIVER_OK yet, reset, broken): drop.
            ++rx_dropped_;
            pending = 0;
            return true;
        }
        if (delivered) pending = 0;
        return pending == 0;
    }

    TapDevice tap_;
    std::array<uint8_t, 6> mac_;
    UniqueFd kick_;
    UniqueFd stop_;
    VirtioQueueHost* host_ = nullptr;
    std::thread receiver_;
    // A frame read from the TAP and not yet delivered (pending_ bytes), kept
    // across a quiesce.
    std::vector<uint8_t> packet_ = std::vector<uint8_t>(kMaxPacket);
    size_t pending_ = 0;
    bool quiesced_ = false;   // no receiver until Unquiesce()
    bool shut_down_ = false;  // no receiver ever again
    std::atomic<uint64_t> tx_dropped_{0};
    std::atomic<uint64_t> rx_dropped_{0};
};

}  // namespace

std::unique_ptr<VirtioDevice> MakeVirtioNet(TapDevice tap, std::array<uint8_t, 6> mac,
                                            bool quiesced) {
    return std::make_unique<VirtioNet>(std::move(tap), mac, quiesced);
}

// --- virtio-net's row in the device table -------------------------------------

namespace {

constexpr DeviceOption kNetOptions[] = {{"--net", true}};
constexpr const char* kNetState[] = {"virtio-net"};

// "--net tap=NAME".
Status ParseNetOptions(const cli::Args& args, DeviceConfigs& config) {
    HVKIT_ASSIGN_OR_RETURN(auto value, args.One("--net"));
    if (!value) return Status::Ok();
    const std::string prefix = "tap=";
    std::string name = value->rfind(prefix, 0) == 0 ? value->substr(prefix.size()) : "";
    // IFNAMSIZ is 16 including the NUL.
    if (name.empty() || name.size() > 15 || name.find_first_of(",/ ") != std::string::npos) {
        return Error(ErrorCode::kMalformed,
                     "--net '" + *value + "': expected tap=NAME (an interface name of 1-15 bytes)");
    }
    config.net.tap_name = name;
    return Status::Ok();
}

// virtio-net at 00:04.0 on --net's TAP (none without --net).
Status SetupVirtioNet(DeviceContext& ctx) {
    const std::string& tap_name = ctx.config.devices.net.tap_name;
    if (tap_name.empty()) return Status::Ok();
    TapDevice tap;
    if (ctx.adopted != nullptr) {
        HVKIT_ASSIGN_OR_RETURN(UniqueFd fd, ctx.adopted->Take("virtio-net.tap"));
        HVKIT_ASSIGN_OR_RETURN(tap, AdoptTap(std::move(fd), tap_name));
    } else {
        HVKIT_ASSIGN_OR_RETURN(tap, OpenTap(tap_name));
    }
    HVKIT_ASSIGN_OR_RETURN(uint32_t bar, ctx.pci->AllocateMmio(VirtioPciFunction::kBarSize));
    auto fn = std::make_shared<VirtioPciFunction>(
        MakeVirtioNet(std::move(tap), MacForTap(tap_name), ctx.adopted != nullptr), ctx.memory,
        ctx.signal_msi, bar);
    HVKIT_RETURN_IF_ERROR(ctx.pci->Attach(layout::kPciSlotVirtioNet, fn));
    ctx.devices.push_back(std::move(fn));
    return Status::Ok();
}

}  // namespace

extern const DeviceModule kVirtioNetModule = {
    .name = "virtio-net",
    .options = kNetOptions,
    .synopsis = "[--net tap=NAME]",
    .help =
        "--net tap=NAME: virtio-net (PCI 00:04.0, eth0) on the existing TAP\n"
        "device NAME (ip tuntap add dev NAME mode tap [user USER]); its MAC is\n"
        "52:54:00 plus three bytes derived from NAME.",
    .parse = ParseNetOptions,
    .setup = SetupVirtioNet,
    .saved_state = kNetState,
};

}  // namespace hvkit::hvmm
