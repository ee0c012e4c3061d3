// PCI without KVM: config-space write masks and BAR sizing, the capability
// chain, MSI-X delivery and masking, and the root's configuration mechanism,
// BAR decoding and device-memory mappings.
#include <gtest/gtest.h>

#include <cstring>

#include "arch/x86_64/layout.h"
#include "pci/pci.h"

namespace hvkit::hvmm {
namespace {

constexpr uint32_t kTestClass = 0xff0000;

PciConfigSpace TestConfig() {
    PciConfigSpace c(0x1234, 0x5678, kTestClass, 3);
    c.DeclareMemoryBar(0, 0x1000, 0xc8000000);
    return c;
}

TEST(PciConfigSpace, IdentityIsReadOnly) {
    PciConfigSpace c = TestConfig();
    EXPECT_EQ(c.Read(pci::kVendorId, 4), 0x56781234u);
    EXPECT_TRUE(c.Write(pci::kVendorId, 4, 0xffffffff));
    EXPECT_EQ(c.Read(pci::kVendorId, 4), 0x56781234u);
    EXPECT_EQ(c.Read(pci::kRevision, 4), (kTestClass << 8) | 3);
}

TEST(PciConfigSpace, BarSizingReadsBackTheSizeMaskAndKeepsFlagBits) {
    PciConfigSpace c = TestConfig();
    EXPECT_EQ(c.Read(pci::kBar0, 4), 0xc8000000u);
    c.Write(pci::kBar0, 4, 0xffffffff);
    EXPECT_EQ(c.Read(pci::kBar0, 4), 0xfffff000u);  // 4 KiB, 32-bit memory
    c.Write(pci::kBar0, 4, 0xc9000abc);             // low bits are not address bits
    EXPECT_EQ(c.bar_address(0), 0xc9000000u);
    // An undeclared BAR reads 0 and ignores writes: no resource to size.
    c.Write(pci::kBar0 + 4, 4, 0xffffffff);
    EXPECT_EQ(c.Read(pci::kBar0 + 4, 4), 0u);
}

TEST(PciConfigSpace, OnlyImplementedCommandBitsStick) {
    PciConfigSpace c = TestConfig();
    c.Write(pci::kCommand, 2, 0xffff);
    EXPECT_EQ(c.command(), pci::kCommandIo | pci::kCommandMemory | pci::kCommandBusMaster |
                               pci::kCommandIntxDisable);
}

TEST(PciConfigSpace, AccessesPastTheEndOrOfOddWidthAreRefused) {
    PciConfigSpace c = TestConfig();
    EXPECT_EQ(c.Read(254, 4), 0xffffffffu);
    EXPECT_EQ(c.Read(0, 3), 0xffffffffu);
    EXPECT_FALSE(c.Write(253, 4, 0));
}

TEST(PciConfigSpace, CapabilitiesFormAChain) {
    PciConfigSpace c = TestConfig();
    uint8_t body[6] = {1, 2, 3, 4, 5, 6};
    uint8_t first = c.AddCapability(pci::kCapVendor, body);
    uint8_t second = c.AddCapability(pci::kCapMsix, std::span<const uint8_t>(body, 2));
    EXPECT_TRUE(c.Read(pci::kStatus, 2) & pci::kStatusCapabilities);
    EXPECT_EQ(c.Read(pci::kCapabilitiesPointer, 1), first);
    EXPECT_EQ(c.Read(first, 1), pci::kCapVendor);
    EXPECT_EQ(c.Read(first + 1, 1), second);
    EXPECT_EQ(second % 4, 0);
    EXPECT_EQ(c.Read(second + 1, 1), 0u);  // end of the chain
    // Bodies are read-only unless the device says otherwise.
    c.Write(first + 2, 1, 0xee);
    EXPECT_EQ(c.Read(first + 2, 1), 1u);
}

TEST(PciConfigSpace, RestoreRefusesAnotherDevicesBytes) {
    PciConfigSpace c = TestConfig();
    c.Write(pci::kCommand, 2, pci::kCommandMemory);
    std::vector<uint8_t> saved(c.bytes().begin(), c.bytes().end());
    PciConfigSpace fresh = TestConfig();
    ASSERT_TRUE(fresh.RestoreBytes(saved, "test").ok());
    EXPECT_TRUE(fresh.memory_enabled());
    saved[pci::kDeviceId] ^= 1;
    Status st = fresh.RestoreBytes(saved, "test");
    EXPECT_FALSE(st.ok());
    EXPECT_NE(st.message().find("read-only byte 2"), std::string::npos) << st.message();
    EXPECT_FALSE(fresh.RestoreBytes(std::vector<uint8_t>(10), "test").ok());
}

struct MsiRecord {
    std::vector<std::pair<uint64_t, uint32_t>> sent;
    MsiSink Sink() {
        return [this](uint64_t a, uint32_t d) { sent.emplace_back(a, d); };
    }
};

std::vector<uint8_t> Le32(uint32_t v) {
    return {static_cast<uint8_t>(v), static_cast<uint8_t>(v >> 8), static_cast<uint8_t>(v >> 16),
            static_cast<uint8_t>(v >> 24)};
}

class MsixTest : public ::testing::Test {
  protected:
    void SetUp() override { msix.AddCapability(config, 0, 0x800, 0xc00); }
    uint8_t cap() const { return static_cast<uint8_t>(config.Read(pci::kCapabilitiesPointer, 1)); }
    void Control(uint16_t value) {
        config.Write(cap() + 2, 2, value);
        msix.ConfigWritten();
    }
    void Program(uint16_t vector, uint64_t address, uint32_t data, bool masked) {
        uint64_t at = 0x800 + vector * 16;
        msix.BarWrite(at, Le32(static_cast<uint32_t>(address)));
        msix.BarWrite(at + 4, Le32(static_cast<uint32_t>(address >> 32)));
        msix.BarWrite(at + 8, Le32(data));
        msix.BarWrite(at + 12, Le32(masked ? 1 : 0));
    }
    PciConfigSpace config = TestConfig();
    MsiRecord record;
    MsixVectors msix{3, record.Sink()};
};

TEST_F(MsixTest, CapabilityDescribesTableAndPba) {
    EXPECT_EQ(config.Read(cap(), 1), pci::kCapMsix);
    EXPECT_EQ(config.Read(cap() + 2, 2) & 0x7ff, 2u);  // table size - 1
    EXPECT_EQ(config.Read(cap() + 4, 4), 0x800u);      // offset | BIR 0
    EXPECT_EQ(config.Read(cap() + 8, 4), 0xc00u);
}

TEST_F(MsixTest, DeliversOnlyWhenEnabledAndUnmasked) {
    Program(1, 0xfee00000, 0x41, /*masked=*/false);
    msix.Notify(1);
    EXPECT_TRUE(record.sent.empty()) << "MSI-X is not enabled yet";
    Control(0x8000);
    msix.Notify(1);
    ASSERT_EQ(record.sent.size(), 1u);
    EXPECT_EQ(record.sent[0], std::make_pair(uint64_t{0xfee00000}, uint32_t{0x41}));
    msix.Notify(7);       // past the table: ignored
    msix.Notify(0xffff);  // VIRTIO_MSI_NO_VECTOR
    EXPECT_EQ(record.sent.size(), 1u);
}

TEST_F(MsixTest, MaskedVectorIsPendingUntilUnmasked) {
    Control(0x8000);
    Program(2, 0xfee01000, 0x22, /*masked=*/true);
    msix.Notify(2);
    EXPECT_TRUE(record.sent.empty());
    std::vector<uint8_t> pba(8);
    ASSERT_TRUE(msix.BarRead(0xc00, pba));
    EXPECT_EQ(pba[0], 0x04);
    msix.BarWrite(0x800 + 2 * 16 + 12, Le32(0));  // unmask
    ASSERT_EQ(record.sent.size(), 1u);
    EXPECT_EQ(record.sent[0].second, 0x22u);
    ASSERT_TRUE(msix.BarRead(0xc00, pba));
    EXPECT_EQ(pba[0], 0);
}

TEST_F(MsixTest, FunctionMaskHoldsEveryVector) {
    Program(0, 0xfee00000, 0x30, false);
    Control(0x8000 | 0x4000);  // enabled, function masked
    msix.Notify(0);
    EXPECT_TRUE(record.sent.empty());
    Control(0x8000);
    EXPECT_EQ(record.sent.size(), 1u);
}

TEST_F(MsixTest, OddAccessesAreIgnoredAndReadAllOnes) {
    std::vector<uint8_t> two(2);
    ASSERT_TRUE(msix.BarRead(0x800, two));
    EXPECT_EQ(two, std::vector<uint8_t>({0xff, 0xff}));
    EXPECT_TRUE(msix.BarWrite(0x802, Le32(0x12345678)));  // misaligned: ignored
    std::vector<uint8_t> word(4);
    ASSERT_TRUE(msix.BarRead(0x800, word));
    EXPECT_EQ(word, Le32(0));
    EXPECT_FALSE(msix.BarRead(0x100, word)) << "outside the table and PBA";
}

TEST_F(MsixTest, SaveRestoreRoundTripsAndRefusesGarbage) {
    Program(1, 0xfee00000, 0x51, true);
    Control(0x8000);
    msix.Notify(1);
    Json saved = msix.Save();
    MsixVectors other(3, record.Sink());
    ASSERT_TRUE(other.Restore(saved, "t").ok());
    EXPECT_EQ(other.Save(), saved);
    Json bad = saved;
    bad["entries"].as_array()[0].as_array()[2] = Json(int64_t{1} << 40);
    EXPECT_FALSE(other.Restore(bad, "t").ok());
    MsixVectors smaller(2, record.Sink());
    EXPECT_FALSE(smaller.Restore(saved, "t").ok());
}

// A function with one trapped BAR that records accesses, and optionally a
// device-memory BAR 2.
class TestFunction final : public PciFunction {
  public:
    explicit TestFunction(bool with_memory) : PciFunction(TestConfig()) {
        if (with_memory) {
            config_.DeclareMemoryBar(2, 0x4000, 0xc9000000);
            memory_.resize(0x4000);
        }
        config_.SealPowerOnState();
    }
    std::string_view name() const override { return "test-fn"; }
    void BarRead(int bar, uint64_t offset, std::span<uint8_t> data) override {
        for (auto& b : data) b = static_cast<uint8_t>(0x10 * bar + offset);
    }
    void BarWrite(int bar, uint64_t offset, std::span<const uint8_t> data) override {
        writes.push_back({bar, offset, data[0]});
    }
    std::span<uint8_t> BarMemory(int bar) override {
        return bar == 2 ? std::span<uint8_t>(memory_) : std::span<uint8_t>();
    }
    Json Save() const override { return Json::MakeObject(); }
    Status Restore(const Json&) override { return Status::Ok(); }
    void Reset() override {}
    struct Write {
        int bar;
        uint64_t offset;
        uint8_t value;
    };
    std::vector<Write> writes;
    std::vector<uint8_t> memory_;
};

struct Mapping {
    uint32_t slot;
    uint64_t gpa;
    uint64_t size;
};

class PciRootTest : public ::testing::Test {
  protected:
    PciRoot root{[this](uint32_t slot, uint64_t gpa, uint64_t size, void*) {
                     mappings.push_back({slot, gpa, size});
                     return Status::Ok();
                 },
                 [this] { ++resets; }};
    std::vector<Mapping> mappings;
    int resets = 0;

    void Select(uint8_t slot, uint8_t reg) {
        root.PortWrite(0, Le32(0x80000000u | (uint32_t{slot} << 11) | reg));
    }
    uint32_t ConfigRead(uint8_t slot, uint8_t reg) {
        Select(slot, reg & 0xfc);
        std::vector<uint8_t> v(4);
        root.PortRead(4, v);
        uint32_t out;
        memcpy(&out, v.data(), 4);
        return out;
    }
    void ConfigWrite(uint8_t slot, uint8_t reg, uint32_t value) {
        Select(slot, reg);
        root.PortWrite(4, Le32(value));
    }
    uint8_t WindowByte(uint64_t gpa) {
        std::vector<uint8_t> b(1);
        root.WindowRead(gpa, b);
        return b[0];
    }
};

TEST_F(PciRootTest, ConfigMechanismOneReachesAttachedFunctionsOnly) {
    ASSERT_TRUE(root.Attach(0, MakeHostBridge()).ok());
    EXPECT_EQ(ConfigRead(0, 0x08) >> 8, 0x060000u) << "the host bridge's class";
    EXPECT_EQ(ConfigRead(5, 0), 0xffffffffu) << "an empty slot reads all-ones";
    // The address latch reads back what was written (Linux's probe checks this).
    root.PortWrite(0, Le32(0x80000000));
    std::vector<uint8_t> latch(4);
    root.PortRead(0, latch);
    EXPECT_EQ(latch, Le32(0x80000000));
    // With the enable bit clear, data reads are all-ones.
    root.PortWrite(0, Le32(0));
    std::vector<uint8_t> v(4);
    root.PortRead(4, v);
    EXPECT_EQ(v, Le32(0xffffffff));
}

TEST_F(PciRootTest, AttachRefusesTakenAndMissingSlots) {
    ASSERT_TRUE(root.Attach(3, std::make_shared<TestFunction>(false)).ok());
    Status st = root.Attach(3, std::make_shared<TestFunction>(false));
    EXPECT_FALSE(st.ok());
    EXPECT_NE(st.message().find("taken"), std::string::npos);
    EXPECT_FALSE(root.Attach(32, std::make_shared<TestFunction>(false)).ok());
}

TEST_F(PciRootTest, BarsDecodeOnlyWithMemoryEnabledAndFollowMoves) {
    auto fn = std::make_shared<TestFunction>(false);
    ASSERT_TRUE(root.Attach(3, fn).ok());
    EXPECT_EQ(WindowByte(0xc8000004), 0xff) << "memory decoding is off at power-on";
    ConfigWrite(3, pci::kCommand, pci::kCommandMemory);
    EXPECT_EQ(WindowByte(0xc8000004), 0x04);
    // Sizing, as Linux does it, then a move.
    ConfigWrite(3, pci::kBar0, 0xffffffff);
    EXPECT_EQ(ConfigRead(3, pci::kBar0), 0xfffff000u);
    ConfigWrite(3, pci::kBar0, 0xc8100000);
    EXPECT_EQ(WindowByte(0xc8000004), 0xff);
    EXPECT_EQ(WindowByte(0xc8100007), 0x07);
    root.WindowWrite(0xc8100010, std::vector<uint8_t>{0x5a});
    ASSERT_EQ(fn->writes.size(), 1u);
    EXPECT_EQ(fn->writes[0].offset, 0x10u);
    EXPECT_EQ(fn->writes[0].value, 0x5a);
    // An access straddling the BAR's end reaches nobody.
    std::vector<uint8_t> wide(4);
    root.WindowRead(0xc8100ffe, wide);
    EXPECT_EQ(wide, Le32(0xffffffff));
}

TEST_F(PciRootTest, DeviceMemoryIsMappedWhileItsBarDecodes) {
    auto fn = std::make_shared<TestFunction>(true);
    ASSERT_TRUE(root.Attach(3, fn).ok());
    EXPECT_TRUE(mappings.empty()) << "decoding is off";
    ConfigWrite(3, pci::kCommand, pci::kCommandMemory);
    ASSERT_EQ(mappings.size(), 1u);
    EXPECT_EQ(mappings[0].slot, Vm::kDeviceMemorySlotBase);
    EXPECT_EQ(mappings[0].gpa, 0xc9000000u);
    EXPECT_EQ(mappings[0].size, 0x4000u);
    ConfigWrite(3, pci::kBar0 + 8, 0xc9100000);  // move BAR 2
    ASSERT_EQ(mappings.size(), 3u);
    EXPECT_EQ(mappings[1].size, 0u) << "the old place is unmapped first";
    EXPECT_EQ(mappings[2].gpa, 0xc9100000u);
    ConfigWrite(3, pci::kCommand, 0);
    ASSERT_EQ(mappings.size(), 4u);
    EXPECT_EQ(mappings[3].size, 0u);
    // A BAR moved outside the window is never mapped.
    ConfigWrite(3, pci::kBar0 + 8, 0x00100000);
    ConfigWrite(3, pci::kCommand, pci::kCommandMemory);
    EXPECT_EQ(mappings.size(), 4u);
}

TEST_F(PciRootTest, ResetControlRegisterResetsOnlyWithTheResetBit) {
    root.PortWrite(1, std::vector<uint8_t>{0x02});
    EXPECT_EQ(resets, 0);
    root.PortWrite(1, std::vector<uint8_t>{0x06});
    EXPECT_EQ(resets, 1);
}

TEST_F(PciRootTest, AllocatesAlignedBarsAboveHvchan) {
    auto a = root.AllocateMmio(0x1000);
    auto b = root.AllocateMmio(0x10000);
    ASSERT_TRUE(a.ok() && b.ok());
    EXPECT_GE(*a, layout::kPciMmio32AllocStart);
    EXPECT_EQ(*b % 0x10000, 0u);
    EXPECT_GE(*b, *a + 0x1000);
    EXPECT_FALSE(root.AllocateMmio(0x1800).ok()) << "not a power of two";
    EXPECT_FALSE(root.AllocateMmio(0x80000000u).ok()) << "larger than the window";
}

}  // namespace
}  // namespace hvkit::hvmm
