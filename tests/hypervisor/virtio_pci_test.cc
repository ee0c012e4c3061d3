// The virtio-pci transport as a driver sees it: identity and capabilities,
// feature negotiation, when queues are served, interrupts, DEVICE_NEEDS_RESET
// on a hostile ring, and saved state that round-trips and refuses lies.
#include <gtest/gtest.h>

#include <map>

#include "fake_virtio_driver.h"
#include "virtio/virtio.h"

namespace hvkit::hvmm {
namespace {

using testing::FakeRing;
using Fn = VirtioPciFunction;

constexpr uint64_t kDeviceFeature = 1ull << 9;  // what the fake device offers
constexpr uint32_t kBarAddress = 0xc4000000;

// A device with two queues that completes every chain with 0 bytes.
class FakeDevice final : public VirtioDevice {
  public:
    explicit FakeDevice(int* notified) : notified_(notified) {}
    std::string_view name() const override { return "fake-virtio"; }
    uint16_t device_type() const override { return virtio::kTypeBlock; }
    uint32_t pci_class() const override { return 0x018000; }
    uint64_t features() const override { return kDeviceFeature; }
    uint16_t queue_count() const override { return 2; }
    uint16_t queue_max_size() const override { return 16; }
    std::vector<uint8_t> config() const override { return {0x11, 0x22, 0x33, 0x44}; }
    void QueueNotified(uint16_t, VirtQueue& queue, uint64_t) override {
        ++*notified_;
        while (auto chain = queue.Pop()) queue.Push(chain->head, 0);
    }

  private:
    int* notified_;
};

struct PciFixture : ::testing::Test {
    PciFixture() : memory(std::move(GuestMemory::Create(16ull << 20).value())) { fn = Make(); }
    std::unique_ptr<Fn> Make() {
        return std::make_unique<Fn>(
            std::make_unique<FakeDevice>(&notified), *memory,
            [this](uint64_t address, uint32_t data) { msis.emplace_back(address, data); },
            kBarAddress);
    }

    uint32_t Bar(uint64_t offset, size_t size, Fn* f = nullptr) {
        uint8_t b[8] = {};
        (f ? f : fn.get())->BarRead(0, offset, std::span<uint8_t>(b, size));
        uint32_t v = 0;
        for (size_t i = 0; i < size; ++i) v |= uint32_t{b[i]} << (8 * i);
        return v;
    }
    void SetBar(uint64_t offset, size_t size, uint32_t value, Fn* f = nullptr) {
        uint8_t b[4];
        for (size_t i = 0; i < 4; ++i) b[i] = static_cast<uint8_t>(value >> (8 * i));
        (f ? f : fn.get())->BarWrite(0, offset, std::span<const uint8_t>(b, size));
    }
    // Offsets of the vendor capabilities by cfg_type, and the MSI-X one (key 0x100).
    std::map<int, uint8_t> Capabilities() {
        std::map<int, uint8_t> caps;
        uint8_t at = static_cast<uint8_t>(fn->ConfigRead(pci::kCapabilitiesPointer, 1));
        for (int guard = 0; at != 0 && guard < 48; ++guard) {
            uint8_t id = static_cast<uint8_t>(fn->ConfigRead(at, 1));
            if (id == pci::kCapVendor) caps[static_cast<int>(fn->ConfigRead(at + 3, 1))] = at;
            if (id == pci::kCapMsix) caps[0x100] = at;
            at = static_cast<uint8_t>(fn->ConfigRead(at + 1, 1));
        }
        return caps;
    }
    void Negotiate(uint64_t features) {
        SetBar(0x14, 1, virtio::kStatusAcknowledge | virtio::kStatusDriver);
        SetBar(0x08, 4, 0);
        SetBar(0x0c, 4, static_cast<uint32_t>(features));
        SetBar(0x08, 4, 1);
        SetBar(0x0c, 4, static_cast<uint32_t>(features >> 32));
        SetBar(0x14, 1, Bar(0x14, 1) | virtio::kStatusFeaturesOk);
    }
    // Queue 0 on (ring) with MSI-X vector 1, MSI-X on, bus mastering, DRIVER_OK.
    void BringUp(FakeRing& ring) {
        fn->ConfigWrite(pci::kCommand, 2, pci::kCommandMemory | pci::kCommandBusMaster);
        uint8_t msix = Capabilities()[0x100];
        fn->ConfigWrite(msix + 2, 2, 0x8000);  // MSI-X enable
        for (uint32_t v = 0; v < 3; ++v) {
            SetBar(Fn::kMsixTableOffset + 16 * v, 4, 0xfee00000);
            SetBar(Fn::kMsixTableOffset + 16 * v + 8, 4, 0x40 + v);
            SetBar(Fn::kMsixTableOffset + 16 * v + 12, 4, 0);  // unmasked
        }
        Negotiate(virtio::kFeatureVersion1 | kDeviceFeature);
        ASSERT_TRUE(Bar(0x14, 1) & virtio::kStatusFeaturesOk);
        SetBar(0x10, 2, 0);  // config vector 0
        SetBar(0x16, 2, 0);  // queue 0
        SetBar(0x18, 2, ring.size());
        SetBar(0x1a, 2, 1);  // queue vector 1
        SetBar(0x20, 4, FakeRing::kDesc);
        SetBar(0x24, 4, 0);
        SetBar(0x28, 4, FakeRing::kAvail);
        SetBar(0x30, 4, FakeRing::kUsed);
        SetBar(0x1c, 2, 1);
        SetBar(0x14, 1, Bar(0x14, 1) | virtio::kStatusDriverOk);
    }
    void Notify(uint16_t queue) {
        SetBar(Fn::kNotifyOffset + Fn::kNotifyMultiplier * queue, 2, queue);
    }

    std::unique_ptr<GuestMemory> memory;
    int notified = 0;
    std::vector<std::pair<uint64_t, uint32_t>> msis;
    std::unique_ptr<Fn> fn;
};

TEST_F(PciFixture, IdentityIsAModernVirtioDevice) {
    EXPECT_EQ(fn->ConfigRead(pci::kVendorId, 2), 0x1af4u);
    EXPECT_EQ(fn->ConfigRead(pci::kDeviceId, 2), 0x1042u);
    EXPECT_EQ(fn->ConfigRead(pci::kRevision, 1), 1u);
    EXPECT_EQ(fn->ConfigRead(pci::kSubsystemVendorId, 2), 0x1af4u);
    EXPECT_EQ(fn->ConfigRead(pci::kInterruptPin, 1), 0u);  // MSI-X only
    EXPECT_EQ(fn->ConfigRead(pci::kBar0, 4), kBarAddress);
}

TEST_F(PciFixture, CapabilitiesDescribeBarZero) {
    auto caps = Capabilities();
    for (int type : {1, 2, 3, 4, 5}) ASSERT_TRUE(caps.count(type)) << type;
    ASSERT_TRUE(caps.count(0x100));
    auto field = [&](int type, int at, size_t size) {
        return fn->ConfigRead(caps[type] + at, size);
    };
    EXPECT_EQ(field(1, 4, 1), 0u);  // bar
    EXPECT_EQ(field(1, 8, 4), Fn::kCommonOffset);
    EXPECT_GE(field(1, 12, 4), 0x38u);
    EXPECT_EQ(field(2, 8, 4), Fn::kNotifyOffset);
    EXPECT_EQ(field(2, 16, 4), Fn::kNotifyMultiplier);
    EXPECT_EQ(field(3, 8, 4), Fn::kIsrOffset);
    EXPECT_EQ(field(4, 8, 4), Fn::kDeviceConfigOffset);
    EXPECT_EQ(field(2, 2, 1), 20u);  // cap_len with the multiplier
    // MSI-X: 3 vectors (config + 2 queues), table in BAR 0.
    EXPECT_EQ(fn->ConfigRead(caps[0x100] + 2, 2) & 0x7ff, 2u);
    EXPECT_EQ(fn->ConfigRead(caps[0x100] + 4, 4), Fn::kMsixTableOffset);
}

TEST_F(PciFixture, PciCfgWindowReachesTheBar) {
    uint8_t cap = Capabilities()[5];
    fn->ConfigWrite(cap + 4, 1, 0);     // bar 0
    fn->ConfigWrite(cap + 8, 4, 0x12);  // num_queues
    fn->ConfigWrite(cap + 12, 4, 2);    // 2 bytes
    EXPECT_EQ(fn->ConfigRead(cap + 16, 2), 2u);
    fn->ConfigWrite(cap + 8, 4, 0x16);  // queue_select, written through the window
    fn->ConfigWrite(cap + 16, 2, 1);
    EXPECT_EQ(Bar(0x16, 2), 1u);
    fn->ConfigWrite(cap + 8, 4, 0x2000);  // device config
    fn->ConfigWrite(cap + 12, 4, 4);
    EXPECT_EQ(fn->ConfigRead(cap + 16, 4), 0x44332211u);
}

TEST_F(PciFixture, DeviceFeaturesIncludeVersion1AndIndirect) {
    SetBar(0x00, 4, 0);
    uint32_t lo = Bar(0x04, 4);
    SetBar(0x00, 4, 1);
    uint32_t hi = Bar(0x04, 4);
    EXPECT_EQ(lo, static_cast<uint32_t>(kDeviceFeature | virtio::kFeatureIndirectDesc));
    EXPECT_EQ(hi, 1u);  // VERSION_1 is bit 32
    SetBar(0x00, 4, 2);
    EXPECT_EQ(Bar(0x04, 4), 0u);
    EXPECT_EQ(Bar(0x12, 2), 2u);  // num_queues
}

TEST_F(PciFixture, FeaturesOkNeedsVersion1AndOfferedFeaturesOnly) {
    Negotiate(virtio::kFeatureVersion1 | kDeviceFeature);
    EXPECT_TRUE(Bar(0x14, 1) & virtio::kStatusFeaturesOk);
    SetBar(0x14, 1, 0);  // reset
    EXPECT_EQ(Bar(0x14, 1), 0u);
    Negotiate(kDeviceFeature);  // legacy driver: no VERSION_1
    EXPECT_FALSE(Bar(0x14, 1) & virtio::kStatusFeaturesOk);
    SetBar(0x14, 1, 0);
    Negotiate(virtio::kFeatureVersion1 | virtio::kFeatureEventIdx);  // not offered
    EXPECT_FALSE(Bar(0x14, 1) & virtio::kStatusFeaturesOk);
}

TEST_F(PciFixture, FeaturesAreFrozenAfterFeaturesOk) {
    Negotiate(virtio::kFeatureVersion1);
    SetBar(0x08, 4, 0);
    SetBar(0x0c, 4, 0xffffffff);
    EXPECT_EQ(Bar(0x0c, 4), 0u);
}

TEST_F(PciFixture, QueueVectorsOutOfRangeReadBackNoVector) {
    SetBar(0x16, 2, 0);
    SetBar(0x1a, 2, 3);  // only 0..2 exist
    EXPECT_EQ(Bar(0x1a, 2), virtio::kNoVector);
    SetBar(0x1a, 2, 2);
    EXPECT_EQ(Bar(0x1a, 2), 2u);
    SetBar(0x10, 2, 7);
    EXPECT_EQ(Bar(0x10, 2), virtio::kNoVector);
    SetBar(0x16, 2, 5);  // no such queue: size 0
    EXPECT_EQ(Bar(0x18, 2), 0u);
}

TEST_F(PciFixture, NotifiedQueueIsServedAndInterrupts) {
    FakeRing ring(*memory, 8);
    BringUp(ring);
    ring.SetDesc(0, FakeRing::kData, 8, 0, 0);
    ring.MakeAvailable(0);
    Notify(0);
    EXPECT_EQ(notified, 1);
    EXPECT_EQ(ring.UsedIdx(), 1);
    ASSERT_EQ(msis.size(), 1u);
    EXPECT_EQ(msis[0], std::make_pair(uint64_t{0xfee00000}, 0x41u));  // queue vector 1
    EXPECT_EQ(Bar(Fn::kIsrOffset, 1), virtio::kIsrQueue);
    EXPECT_EQ(Bar(Fn::kIsrOffset, 1), 0u);  // read clears
}

TEST_F(PciFixture, NothingIsServedBeforeDriverOkOrWithoutBusMaster) {
    FakeRing ring(*memory, 8);
    BringUp(ring);
    fn->ConfigWrite(pci::kCommand, 2, pci::kCommandMemory);  // bus mastering off
    ring.SetDesc(0, FakeRing::kData, 8, 0, 0);
    ring.MakeAvailable(0);
    Notify(0);
    EXPECT_EQ(notified, 0);
    EXPECT_EQ(ring.UsedIdx(), 0);

    SetBar(0x14, 1, 0);  // reset, then everything but DRIVER_OK
    fn->ConfigWrite(pci::kCommand, 2, pci::kCommandMemory | pci::kCommandBusMaster);
    Negotiate(virtio::kFeatureVersion1);
    SetBar(0x18, 2, 8);
    SetBar(0x20, 4, FakeRing::kDesc);
    SetBar(0x28, 4, FakeRing::kAvail);
    SetBar(0x30, 4, FakeRing::kUsed);
    SetBar(0x1c, 2, 1);
    Notify(0);
    EXPECT_EQ(notified, 0);
    Notify(7);  // past the notify region: ignored
    EXPECT_EQ(notified, 0);
}

TEST_F(PciFixture, QueueSizeAboveTheMaximumIsIgnored) {
    SetBar(0x16, 2, 0);
    EXPECT_EQ(Bar(0x18, 2), 16u);  // the maximum, after reset
    SetBar(0x18, 2, 64);
    EXPECT_EQ(Bar(0x18, 2), 16u);
    SetBar(0x18, 2, 8);
    EXPECT_EQ(Bar(0x18, 2), 8u);
    Json saved = fn->Save();  // and what it saves restores
    EXPECT_TRUE(Make()->Restore(saved).ok());
}

TEST_F(PciFixture, QueueSetupIsFrozenOnceEnabled) {
    FakeRing ring(*memory, 8);
    BringUp(ring);
    SetBar(0x16, 2, 0);
    SetBar(0x20, 4, 0x123000);
    SetBar(0x18, 2, 4);
    EXPECT_EQ(Bar(0x20, 4), FakeRing::kDesc);
    EXPECT_EQ(Bar(0x18, 2), 8u);
}

TEST_F(PciFixture, HostileRingSetsNeedsResetAndStopsTheQueue) {
    FakeRing ring(*memory, 8);
    BringUp(ring);
    ring.SetDesc(0, FakeRing::kData, 8, virtio::kDescNext, 0);  // loops on itself
    ring.MakeAvailable(0);
    ::testing::internal::CaptureStderr();
    Notify(0);
    std::string err = ::testing::internal::GetCapturedStderr();
    EXPECT_NE(err.find("loops"), std::string::npos) << err;
    EXPECT_TRUE(Bar(0x14, 1) & virtio::kStatusNeedsReset);
    // The configuration-change interrupt on vector 0.
    ASSERT_FALSE(msis.empty());
    EXPECT_EQ(msis.back().second, 0x40u);
    int before = notified;
    ring.SetDesc(0, FakeRing::kData, 8, 0, 0);
    Notify(0);
    EXPECT_EQ(notified, before);
    EXPECT_EQ(ring.UsedIdx(), 0);
    // Reset recovers the device.
    SetBar(0x14, 1, 0);
    EXPECT_EQ(Bar(0x14, 1), 0u);
    msis.clear();
    ring.SetAvailIdx(0);
    FakeRing fresh(*memory, 8);
    BringUp(fresh);
    fresh.SetDesc(0, FakeRing::kData, 8, 0, 0);
    fresh.MakeAvailable(0);
    Notify(0);
    EXPECT_EQ(fresh.UsedIdx(), 1);
}

TEST_F(PciFixture, EnablingABadQueueSetsNeedsReset) {
    fn->ConfigWrite(pci::kCommand, 2, pci::kCommandMemory | pci::kCommandBusMaster);
    Negotiate(virtio::kFeatureVersion1);
    SetBar(0x18, 2, 6);  // not a power of two
    ::testing::internal::CaptureStderr();
    SetBar(0x1c, 2, 1);
    SetBar(0x14, 1, Bar(0x14, 1) | virtio::kStatusDriverOk);
    ::testing::internal::GetCapturedStderr();
    EXPECT_TRUE(Bar(0x14, 1) & virtio::kStatusNeedsReset);
}

TEST_F(PciFixture, StateRoundTripsThroughJsonText) {
    FakeRing ring(*memory, 8);
    BringUp(ring);
    ring.SetDesc(0, FakeRing::kData, 8, 0, 0);
    ring.MakeAvailable(0);
    Notify(0);
    SetBar(0x16, 2, 1);
    Json saved = fn->Save();
    auto text = DumpJson(saved);
    auto parsed = ParseJson(text, "state");
    ASSERT_TRUE(parsed.ok());
    auto other = Make();
    ASSERT_TRUE(other->Restore(*parsed).ok());
    EXPECT_EQ(other->Save(), saved);
    EXPECT_EQ(Bar(0x16, 2, other.get()), 1u);
    EXPECT_EQ(Bar(0x14, 1, other.get()), Bar(0x14, 1));
    // The restored device goes on where the first stopped.
    msis.clear();
    ring.MakeAvailable(0);
    SetBar(Fn::kNotifyOffset, 2, 0, other.get());
    EXPECT_EQ(ring.UsedIdx(), 2);
    EXPECT_EQ(ring.Used(1).first, 0u);
    ASSERT_EQ(msis.size(), 1u);  // MSI-X table came along
    EXPECT_EQ(msis[0].second, 0x41u);
}

TEST_F(PciFixture, ResetReturnsToPowerOn) {
    FakeRing ring(*memory, 8);
    BringUp(ring);
    Json power_on = Make()->Save();
    fn->Reset();
    EXPECT_EQ(fn->Save(), power_on);
}

Json U64Pair(uint64_t v) {
    Json pair = Json::MakeArray();
    pair.Push(Json(static_cast<int64_t>(v >> 32)));
    pair.Push(Json(static_cast<int64_t>(v & 0xffffffff)));
    return pair;
}

TEST_F(PciFixture, AnyRingAddressSurvivesSaveAndRestore) {
    SetBar(0x16, 2, 1);
    SetBar(0x20, 4, 0xfffffff0);
    SetBar(0x24, 4, 0xffffffff);  // far past any RAM, but a value the register holds
    Json saved = fn->Save();
    auto other = Make();
    ASSERT_TRUE(other->Restore(saved).ok());
    EXPECT_EQ(other->Save(), saved);
}

TEST_F(PciFixture, BadStateIsRefusedAndChangesNothing) {
    FakeRing ring(*memory, 8);
    BringUp(ring);
    Json good = fn->Save();
    auto refused = [&](const std::function<void(Json&)>& spoil, const std::string& what) {
        Json bad = good;
        spoil(bad);
        auto target = Make();
        Json before = target->Save();
        Status st = target->Restore(bad);
        EXPECT_FALSE(st.ok()) << what;
        EXPECT_EQ(target->Save(), before) << what;
    };
    refused([](Json& j) { j["version"] = Json(int64_t{2}); }, "version");
    refused([](Json& j) { j["status"] = Json(int64_t{0x10}); }, "unknown status bit");
    refused([](Json& j) { j["status"] = Json(int64_t{-1}); }, "negative status");
    refused([](Json& j) { j["driver_features"].as_array()[1] = Json(int64_t{1} << 29); },
            "EVENT_IDX accepted though not offered");
    refused([](Json& j) { j["driver_features"].as_array()[0] = Json(int64_t{0}); }, "no VERSION_1");
    refused([](Json& j) { j["driver_features"] = Json(int64_t{1}); }, "features not a pair");
    refused([](Json& j) { j["config_vector"] = Json(int64_t{3}); }, "config vector");
    refused([](Json& j) { j["isr"] = Json(int64_t{4}); }, "isr");
    refused([](Json& j) { j["queues"].as_array().pop_back(); }, "queue count");
    refused([](Json& j) { j["queues"].as_array()[0]["size"] = Json(int64_t{12}); },
            "size not a power of two");
    refused([](Json& j) { j["queues"].as_array()[0]["size"] = Json(int64_t{32}); },
            "size above the maximum");
    refused([](Json& j) { j["queues"].as_array()[0]["desc"] = U64Pair(0x10008); },
            "misaligned descriptor table");
    refused([](Json& j) { j["queues"].as_array()[0]["desc"].as_array()[0] = Json(int64_t{-1}); },
            "negative address half");
    refused([](Json& j) { j["queues"].as_array()[0]["msix_vector"] = Json(int64_t{9}); },
            "queue vector");
    refused([](Json& j) { j["queues"].as_array()[0]["next_avail"] = Json(int64_t{70000}); },
            "index above 16 bits");
    refused([](Json& j) { j["queues"].as_array()[0]["next_avail"] = Json(int64_t{10}); },
            "more in flight than the queue holds");
    refused([](Json& j) { j["queues"].as_array()[0]["enabled"] = Json(int64_t{1}); },
            "enabled not a boolean");
    refused([](Json& j) { j["config"].as_array()[0] = Json(int64_t{0}); },
            "config of another vendor");
    refused([](Json& j) { j["msix"]["entries"].as_array().pop_back(); }, "MSI-X vector count");
    refused([](Json& j) { j.as_object().erase("msix"); }, "no MSI-X");
}

}  // namespace
}  // namespace hvkit::hvmm

namespace hvkit::hvmm {
namespace {

// The transport behind the real root complex: found by configuration
// mechanism #1 at its slot, its BAR decoded in the MMIO window once memory
// decoding is on.
TEST(VirtioOnPciRoot, FoundThroughMechanismOneAndDecodedInTheWindow) {
    auto memory = std::move(GuestMemory::Create(16ull << 20).value());
    PciRoot root([](uint32_t, uint64_t, uint64_t, void*) { return Status::Ok(); }, [] {});
    auto bar = root.AllocateMmio(Fn::kBarSize);
    ASSERT_TRUE(bar.ok());
    int notified = 0;
    auto fn = std::make_shared<Fn>(
        std::make_unique<FakeDevice>(&notified), *memory, [](uint64_t, uint32_t) {}, *bar);
    ASSERT_TRUE(root.Attach(3, fn).ok());
    auto config = [&](uint8_t offset) {
        uint32_t address = 0x80000000u | 3u << 11 | offset;
        uint8_t a[4];
        for (int i = 0; i < 4; ++i) a[i] = static_cast<uint8_t>(address >> (8 * i));
        root.PortWrite(0, a);
        uint8_t d[4];
        root.PortRead(4, d);
        return static_cast<uint32_t>(d[0] | d[1] << 8 | d[2] << 16 | d[3] << 24);
    };
    EXPECT_EQ(config(0), 0x10421af4u);
    EXPECT_EQ(config(0x10), *bar);
    uint8_t q[2] = {0xaa, 0xaa};
    root.WindowRead(*bar + 0x12, q);  // memory decoding still off
    EXPECT_EQ(q[0], 0xff);
    uint32_t address = 0x80000000u | 3u << 11 | pci::kCommand;
    uint8_t a[4], cmd[2] = {pci::kCommandMemory, 0};
    for (int i = 0; i < 4; ++i) a[i] = static_cast<uint8_t>(address >> (8 * i));
    root.PortWrite(0, a);
    root.PortWrite(4, cmd);
    root.WindowRead(*bar + 0x12, q);
    EXPECT_EQ(q[0], 2);  // num_queues
    EXPECT_EQ(q[1], 0);
}

}  // namespace
}  // namespace hvkit::hvmm
