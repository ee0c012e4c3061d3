// PCI configuration space and hvchan on the local /dev/kvm, driven by a
// 32-bit guest payload assembled in the build (payloads/hvchan_pm.S): config
// reads through ports 0xcf8/0xcfc, hvchan's registers (MMIO exits) and its
// shared memory (a KVM memory slot at BAR2), an echo call and hostile calls.
// Skipped without a usable /dev/kvm.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>

#include "hvkit/fs.h"
#include "hvkit/hvchan_abi.h"
#include "hvmm.h"

namespace hvkit::hvmm {
namespace {

constexpr uint64_t kPayloadMemory = 0xa0000;
constexpr uint64_t kResults = 0x6000;  // where hvchan_pm.S writes its results

std::vector<uint8_t> Payload(const std::string& name) {
    auto bytes = ReadFile(std::string(HVKIT_PAYLOAD_DIR) + "/" + name, 1 << 16);
    EXPECT_TRUE(bytes.ok()) << bytes.status().message();
    return bytes.ok() ? std::vector<uint8_t>(bytes->begin(), bytes->end()) : std::vector<uint8_t>();
}

class KvmPci : public ::testing::Test {
  protected:
    void SetUp() override {
        if (access("/dev/kvm", R_OK | W_OK) != 0) GTEST_SKIP() << "no usable /dev/kvm here";
    }
    // Runs the payload on a machine with (hvchan) and returns the 11 result words.
    std::vector<uint32_t> Run(bool hvchan) {
        MachineConfig config;
        config.memory_bytes = kPayloadMemory;
        config.real_mode_payload = Payload("hvchan_pm.bin");
        config.devices.hvchan.enabled = hvchan;
        config.serial_sink = [](std::span<const uint8_t>) {};
        auto m = BuildMachine(config);
        EXPECT_TRUE(m.ok()) << m.status().message();
        if (!m.ok()) return {};
        StopReason reason = (*m)->Run();
        EXPECT_EQ(reason, StopReason::kGuestReset) << (*m)->control().detail();
        std::vector<uint32_t> words(11);
        EXPECT_TRUE(
            (*m)->memory().Read(kResults, {reinterpret_cast<uint8_t*>(words.data()), 44}).ok());
        return words;
    }
};

TEST_F(KvmPci, GuestReadsConfigSpaceAndCallsHvchan) {
    std::vector<uint32_t> r = Run(/*hvchan=*/true);
    ASSERT_EQ(r.size(), 11u);
    ASSERT_EQ(r[10], 0x656e6f64u) << "the payload did not run to its end";
    EXPECT_EQ(r[0] & 0xffff, HVCHAN_PCI_VENDOR_ID) << "host bridge at 00:00.0";
    EXPECT_EQ(r[1], (HVCHAN_PCI_DEVICE_ID << 16) | HVCHAN_PCI_VENDOR_ID) << "hvchan at 00:02.0";
    EXPECT_EQ(r[2], 0xc0000000u) << "hvchan BAR0";
    EXPECT_EQ(r[3], HVCHAN_MAGIC);
    EXPECT_EQ(r[4], static_cast<uint32_t>(HVCHAN_OK)) << "echo status";
    EXPECT_EQ(r[5], 8u) << "echo ret0";
    EXPECT_EQ(r[6], 0x696b7668u) << "the echoed bytes";
    EXPECT_EQ(r[7], static_cast<uint32_t>(HVCHAN_E_RANGE)) << "hostile echo, call block";
    EXPECT_EQ(r[8], static_cast<uint32_t>(HVCHAN_E_RANGE)) << "hostile echo, status register";
    EXPECT_EQ(r[9], static_cast<uint32_t>(HVCHAN_E_UNKNOWN_CALL));
}

TEST_F(KvmPci, WithoutHvchanTheSlotIsEmptyAndTheBarsReadAllOnes) {
    std::vector<uint32_t> r = Run(/*hvchan=*/false);
    ASSERT_EQ(r.size(), 11u);
    ASSERT_EQ(r[10], 0x656e6f64u);
    EXPECT_EQ(r[0] & 0xffff, HVCHAN_PCI_VENDOR_ID) << "the host bridge is always there";
    EXPECT_EQ(r[1], 0xffffffffu);
    EXPECT_EQ(r[3], 0xffffffffu) << "nothing decodes BAR0's address";
}

}  // namespace
}  // namespace hvkit::hvmm
