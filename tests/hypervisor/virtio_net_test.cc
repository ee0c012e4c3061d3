// virtio-net through its transport, with a datagram socket pair standing in
// for the TAP (both keep frame boundaries): frames the guest sends arrive
// whole; frames from the wire land in receive buffers with an interrupt;
// frames that do not fit, or arrive before DRIVER_OK, are dropped.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <thread>

#include "fake_virtio_driver.h"
#include "virtio/virtio.h"

namespace hvkit::hvmm {
namespace {

using testing::FakeRing;
using Fn = VirtioPciFunction;

constexpr uint64_t kRxDesc = 0x10000, kRxAvail = 0x20000, kRxUsed = 0x30000;
constexpr uint64_t kTxDesc = 0x50000, kTxAvail = 0x60000, kTxUsed = 0x70000;
constexpr uint64_t kBuffers = 0x200000;

// A FakeRing at other addresses (the TX queue).
class TxRing {
  public:
    explicit TxRing(GuestMemory& memory) : memory_(memory) {}
    void Send(uint16_t head, uint64_t gpa, uint32_t len) {
        uint8_t raw[16];
        uint16_t flags = 0, next = 0;
        std::memcpy(raw, &gpa, 8);
        std::memcpy(raw + 8, &len, 4);
        std::memcpy(raw + 12, &flags, 2);
        std::memcpy(raw + 14, &next, 2);
        ASSERT_TRUE(memory_.Write(kTxDesc + 16 * head, raw).ok());
        uint16_t slot = idx_ % 8;
        ASSERT_TRUE(memory_.Write(kTxAvail + 4 + 2 * slot, Bytes(head)).ok());
        ++idx_;
        ASSERT_TRUE(memory_.Write(kTxAvail + 2, Bytes(idx_)).ok());
    }
    uint16_t UsedIdx() {
        uint8_t b[2];
        EXPECT_TRUE(memory_.Read(kTxUsed + 2, b).ok());
        return static_cast<uint16_t>(b[0] | b[1] << 8);
    }

  private:
    static std::vector<uint8_t> Bytes(uint16_t v) {
        return {static_cast<uint8_t>(v), static_cast<uint8_t>(v >> 8)};
    }
    GuestMemory& memory_;
    uint16_t idx_ = 0;
};

struct NetFixture : ::testing::Test {
    NetFixture() : memory(std::move(GuestMemory::Create(16ull << 20).value())) {
        int sv[2];
        EXPECT_EQ(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
        wire = UniqueFd(sv[1]);
        TapDevice tap{UniqueFd(sv[0]), "test0"};
        fn = std::make_unique<Fn>(
            MakeVirtioNet(std::move(tap), MacForTap("test0")), *memory,
            [this](uint64_t, uint32_t data) {
                if (data == 0x41) ++rx_interrupts;
            },
            0xc4000000);
    }
    ~NetFixture() override { fn.reset(); }  // joins the receiver before memory goes

    void SetBar(uint64_t offset, size_t size, uint64_t value) {
        uint8_t b[8];
        for (size_t i = 0; i < 8; ++i) b[i] = static_cast<uint8_t>(value >> (8 * i));
        fn->BarWrite(0, offset, std::span<const uint8_t>(b, size));
    }
    uint32_t Bar(uint64_t offset, size_t size) {
        uint8_t b[4] = {};
        fn->BarRead(0, offset, std::span<uint8_t>(b, size));
        return static_cast<uint32_t>(b[0] | b[1] << 8 | b[2] << 16 | b[3] << 24);
    }
    void SetupQueue(uint16_t index, uint64_t desc, uint64_t avail, uint64_t used) {
        SetBar(0x16, 2, index);
        SetBar(0x18, 2, 8);
        SetBar(0x1a, 2, index + 1u);
        SetBar(0x20, 4, desc);
        SetBar(0x28, 4, avail);
        SetBar(0x30, 4, used);
        SetBar(0x1c, 2, 1);
    }
    // MSI-X (vectors 1 and 2 unmasked, data 0x40 + vector), both queues,
    // features MAC | STATUS | VERSION_1, DRIVER_OK.
    void BringUp() {
        fn->ConfigWrite(pci::kCommand, 2, pci::kCommandMemory | pci::kCommandBusMaster);
        uint8_t at = static_cast<uint8_t>(fn->ConfigRead(pci::kCapabilitiesPointer, 1));
        while (at != 0 && fn->ConfigRead(at, 1) != pci::kCapMsix) {
            at = static_cast<uint8_t>(fn->ConfigRead(at + 1, 1));
        }
        ASSERT_NE(at, 0);
        fn->ConfigWrite(at + 2, 2, 0x8000);
        for (uint32_t v = 0; v < 3; ++v) {
            SetBar(Fn::kMsixTableOffset + 16 * v, 4, 0xfee00000);
            SetBar(Fn::kMsixTableOffset + 16 * v + 8, 4, 0x40 + v);
            SetBar(Fn::kMsixTableOffset + 16 * v + 12, 4, 0);
        }
        SetBar(0x14, 1, 3);
        SetBar(0x08, 4, 0);
        SetBar(0x0c, 4, (1u << 5) | (1u << 16));
        SetBar(0x08, 4, 1);
        SetBar(0x0c, 4, 1);
        SetBar(0x14, 1, 3 | virtio::kStatusFeaturesOk);
        ASSERT_TRUE(Bar(0x14, 1) & virtio::kStatusFeaturesOk);
        SetupQueue(0, kRxDesc, kRxAvail, kRxUsed);
        SetupQueue(1, kTxDesc, kTxAvail, kTxUsed);
        SetBar(0x14, 1, 3 | virtio::kStatusFeaturesOk | virtio::kStatusDriverOk);
    }
    // Offers receive buffer (head) of (len) bytes and notifies.
    void AddRxBuffer(uint16_t head, uint32_t len) {
        rx.SetDesc(head, kBuffers + 0x1000 * head, len, virtio::kDescWrite, 0);
        rx.MakeAvailable(head);
        SetBar(Fn::kNotifyOffset, 2, 0);
    }
    bool WaitForRxUsed(uint16_t idx) {
        for (int i = 0; i < 500; ++i) {
            if (rx.UsedIdx() == idx) return true;
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        return false;
    }
    void FromWire(const std::string& frame) {
        std::string packet(12, '\0');
        packet += frame;
        ASSERT_EQ(send(wire.get(), packet.data(), packet.size(), 0),
                  static_cast<ssize_t>(packet.size()));
    }

    std::unique_ptr<GuestMemory> memory;
    UniqueFd wire;
    std::atomic<int> rx_interrupts{0};
    std::unique_ptr<Fn> fn;
    FakeRing rx{*memory, 8};
};

TEST_F(NetFixture, ConfigOffersMacAndLinkUpWithoutOffloads) {
    SetBar(0x00, 4, 0);
    uint32_t features = Bar(0x04, 4);
    EXPECT_TRUE(features & (1u << 5));    // MAC
    EXPECT_TRUE(features & (1u << 16));   // STATUS
    EXPECT_FALSE(features & (1u << 0));   // CSUM
    EXPECT_FALSE(features & (1u << 15));  // MRG_RXBUF
    auto mac = MacForTap("test0");
    for (uint32_t i = 0; i < 6; ++i) EXPECT_EQ(Bar(Fn::kDeviceConfigOffset + i, 1), mac[i]);
    EXPECT_EQ(Bar(Fn::kDeviceConfigOffset + 6, 2), 1u);  // VIRTIO_NET_S_LINK_UP
    EXPECT_EQ(fn->ConfigRead(pci::kDeviceId, 2), 0x1041u);
}

TEST_F(NetFixture, MacIsStableLocallyAdministeredAndPerTap) {
    auto a = MacForTap("hvtap0");
    EXPECT_EQ(a, MacForTap("hvtap0"));
    EXPECT_NE(a, MacForTap("hvtap1"));
    EXPECT_EQ(a[0], 0x52);
    EXPECT_EQ(a[0] & 1, 0);  // unicast
    EXPECT_EQ(a[0] & 2, 2);  // locally administered
}

TEST_F(NetFixture, TransmittedFrameArrivesWhole) {
    BringUp();
    TxRing tx(*memory);
    std::string packet(12, '\0');
    packet += "a frame from the guest";
    ASSERT_TRUE(memory
                    ->Write(kBuffers + 0x10000,
                            std::span<const uint8_t>(
                                reinterpret_cast<const uint8_t*>(packet.data()), packet.size()))
                    .ok());
    tx.Send(0, kBuffers + 0x10000, static_cast<uint32_t>(packet.size()));
    SetBar(Fn::kNotifyOffset + Fn::kNotifyMultiplier, 2, 1);
    EXPECT_EQ(tx.UsedIdx(), 1);
    char got[256];
    ssize_t n = recv(wire.get(), got, sizeof got, 0);
    ASSERT_EQ(n, static_cast<ssize_t>(packet.size()));
    EXPECT_EQ(std::string(got, static_cast<size_t>(n)), packet);
}

TEST_F(NetFixture, ReceivedFrameFillsABufferAndInterrupts) {
    BringUp();
    AddRxBuffer(0, 2048);
    FromWire("a frame from the wire");
    ASSERT_TRUE(WaitForRxUsed(1));
    auto [id, len] = rx.Used(0);
    EXPECT_EQ(id, 0u);
    EXPECT_EQ(len, 12u + 21);
    auto bytes = rx.Get(kBuffers, len);
    EXPECT_EQ(bytes[10], 1);  // num_buffers
    EXPECT_EQ(std::string(bytes.begin() + 12, bytes.end()), "a frame from the wire");
    for (int i = 0; i < 200 && rx_interrupts == 0; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    EXPECT_GE(rx_interrupts.load(), 1);
}

TEST_F(NetFixture, FrameWaitsForAReceiveBuffer) {
    BringUp();
    FromWire("early frame");
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    EXPECT_EQ(rx.UsedIdx(), 0);
    AddRxBuffer(1, 2048);  // the kick delivers the held frame
    ASSERT_TRUE(WaitForRxUsed(1));
    EXPECT_EQ(rx.Used(0).second, 12u + 11);
}

TEST_F(NetFixture, FrameTooBigForTheBufferIsDroppedAndTheBufferKept) {
    BringUp();
    AddRxBuffer(2, 40);
    FromWire(std::string(100, 'x'));  // 112 bytes with the header
    FromWire("small");
    ASSERT_TRUE(WaitForRxUsed(1));
    EXPECT_EQ(rx.Used(0), std::make_pair(2u, 12u + 5));
    auto bytes = rx.Get(kBuffers + 0x2000 + 12, 5);
    EXPECT_EQ(std::string(bytes.begin(), bytes.end()), "small");
}

TEST_F(NetFixture, FramesBeforeDriverOkAreDropped) {
    FromWire("too early");
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    BringUp();
    AddRxBuffer(0, 2048);
    FromWire("in time");
    ASSERT_TRUE(WaitForRxUsed(1));
    EXPECT_EQ(rx.Used(0).second, 12u + 7);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    EXPECT_EQ(rx.UsedIdx(), 1);
}

}  // namespace
}  // namespace hvkit::hvmm
