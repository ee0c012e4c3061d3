// hvfilt on the local /dev/kvm, driven by a 32-bit guest payload
// (payloads/hvfilt_pm.S): the guest finds the function at 00:05.0, reads its
// registers, writes a byte into BAR0 (a KVM memory slot on the region memfd:
// the byte is in the memfd an attaching hvfilterd maps) and kicks the
// doorbell twice (KVM_IOEVENTFD: the doorbell eventfd counts 2 and no kick
// exits to hvmm). Skipped without a usable /dev/kvm.
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include "control/control.h"
#include "hvfilt/hvfilt.h"
#include "hvkit/filter_ring_abi.h"
#include "hvkit/fs.h"
#include "hvmm.h"

namespace hvkit::hvmm {
namespace {

constexpr uint64_t kPayloadMemory = 0xa0000;
constexpr uint64_t kResults = 0x6000;  // where hvfilt_pm.S writes its results
constexpr size_t kWords = 9;
constexpr uint64_t kRegion = 2u << 20;

std::vector<uint8_t> Payload(const std::string& name) {
    auto bytes = ReadFile(std::string(HVKIT_PAYLOAD_DIR) + "/" + name, 1 << 16);
    EXPECT_TRUE(bytes.ok()) << bytes.status().message();
    return bytes.ok() ? std::vector<uint8_t>(bytes->begin(), bytes->end()) : std::vector<uint8_t>();
}

class KvmHvfilt : public ::testing::Test {
  protected:
    void SetUp() override {
        if (access("/dev/kvm", R_OK | W_OK) != 0) GTEST_SKIP() << "no usable /dev/kvm here";
    }
    std::unique_ptr<Machine> Build(uint64_t filter_rings) {
        MachineConfig config;
        config.memory_bytes = kPayloadMemory;
        config.real_mode_payload = Payload("hvfilt_pm.bin");
        config.devices.hvfilt.region_bytes = filter_rings;
        config.serial_sink = [](std::span<const uint8_t>) {};
        auto m = BuildMachine(config);
        EXPECT_TRUE(m.ok()) << m.status().message();
        return m.ok() ? std::move(m).value() : nullptr;
    }
    std::vector<uint32_t> Results(Machine& m) {
        std::vector<uint32_t> words(kWords);
        EXPECT_TRUE(
            m.memory().Read(kResults, {reinterpret_cast<uint8_t*>(words.data()), kWords * 4}).ok());
        return words;
    }
};

TEST_F(KvmHvfilt, GuestWritesReachTheMemfdAndKicksReachTheEventfdInTheKernel) {
    auto m = Build(kRegion);
    ASSERT_NE(m, nullptr);
    MachineControlTarget target(*m, "test");
    auto attached = target.AttachFilter();  // before the run, as hvfilterd may
    ASSERT_TRUE(attached.ok()) << attached.status().message();
    ASSERT_EQ(m->Run(), StopReason::kGuestReset) << m->control().detail();

    std::vector<uint32_t> r = Results(*m);
    ASSERT_EQ(r[8], 0x656e6f64u) << "the payload did not run to its end";
    EXPECT_EQ(r[0], (HVFILT_PCI_DEVICE_ID << 16) | HVFILT_PCI_VENDOR_ID);
    EXPECT_EQ(r[4 / 4] & 0xf, 0xcu) << "BAR0: 64-bit prefetchable memory";
    EXPECT_EQ(r[4 / 4] & (kRegion - 1) & ~0xfu, 0u) << "BAR0 aligned to its size";
    EXPECT_EQ(r[12 / 4], HVFILT_MAGIC);
    EXPECT_EQ(r[16 / 4], kRegion);
    EXPECT_EQ(r[20 / 4], HVFILTER_ABI_MAJOR << 16 | HVFILTER_ABI_MINOR) << "the ring ABI";
    EXPECT_EQ(r[24 / 4], 0x5au) << "the guest reads its byte back from BAR0";
    EXPECT_FALSE(r[28 / 4] & (uint32_t{pci::kStatusInterrupt} << 16)) << "no interrupt pending";

    // The byte is in the memfd hvfilterd maps.
    void* p = mmap(nullptr, kRegion, PROT_READ, MAP_SHARED, attached->fds[0].get(), 0);
    ASSERT_NE(p, MAP_FAILED);
    EXPECT_EQ(static_cast<const uint8_t*>(p)[0x100], 0x5a);
    munmap(p, kRegion);

    // Both kicks are in the doorbell eventfd, and neither went through hvmm.
    uint64_t count = 0;
    ASSERT_EQ(read(attached->fds[1].get(), &count, sizeof count), 8) << "no kick arrived";
    EXPECT_EQ(count, 2u);
    auto hvfilt = std::dynamic_pointer_cast<HvfiltDevice>(m->FindDevice("hvfilt"));
    ASSERT_NE(hvfilt, nullptr);
    EXPECT_EQ(hvfilt->counters().doorbell_exits, 0u) << "the ioeventfd did not take the kicks";
    EXPECT_EQ(hvfilt->counters().bad_register_accesses, 0u);
}

TEST_F(KvmHvfilt, WithoutFilterRingsThereIsNoDeviceAndAttachIsRefused) {
    auto m = Build(0);
    ASSERT_NE(m, nullptr);
    MachineControlTarget target(*m, "test");
    auto attached = target.AttachFilter();
    ASSERT_FALSE(attached.ok());
    EXPECT_NE(attached.status().message().find("no filter rings"), std::string::npos);
    ASSERT_EQ(m->Run(), StopReason::kGuestReset) << m->control().detail();
    std::vector<uint32_t> r = Results(*m);
    EXPECT_EQ(r[0], 0xffffffffu) << "slot 5 is empty";
}

}  // namespace
}  // namespace hvkit::hvmm
