// hvchan without KVM: the ABI's layout, the registers, the call path through
// the call block, and hostile calls (every range the guest names is checked;
// a bad call gets an error status and the device keeps answering).
#include <gtest/gtest.h>

#include <cstring>

#include "arch/x86_64/layout.h"
#include "hvchan/hvchan.h"

namespace hvkit::hvmm {
namespace {

TEST(HvchanAbi, LayoutIsConsistent) {
    EXPECT_EQ(HVCHAN_ABI_VERSION, (HVCHAN_ABI_MAJOR << 16) | HVCHAN_ABI_MINOR);
    EXPECT_LE(sizeof(hvchan_call_block), HVCHAN_BAR2_CALL_IN_OFFSET);
    EXPECT_EQ(HVCHAN_BAR2_CALL_IN_OFFSET + HVCHAN_BAR2_CALL_IN_SIZE, HVCHAN_BAR2_CALL_OUT_OFFSET);
    EXPECT_EQ(HVCHAN_BAR2_CALL_OUT_OFFSET + HVCHAN_BAR2_CALL_OUT_SIZE, HVCHAN_BAR2_CALL_AREAS_END);
    EXPECT_LE(HVCHAN_BAR2_CALL_AREAS_END, HVCHAN_BAR2_SIZE);
    EXPECT_LE(sizeof(hvchan_info), HVCHAN_BAR2_CALL_OUT_SIZE);
    EXPECT_EQ(HVCHAN_BAR2_SIZE & (HVCHAN_BAR2_SIZE - 1), 0u) << "a BAR size is a power of two";
}

class HvchanTest : public ::testing::Test {
  protected:
    void SetUp() override {
        HvchanHostInfo host;
        host.hv_version = 0x000102;
        host.hv_version_string = "0.1.2";
        auto d = HvchanDevice::Create(host);
        ASSERT_TRUE(d.ok()) << d.status().message();
        dev = *d;
    }
    uint32_t Reg(uint64_t offset) {
        uint8_t b[4];
        dev->BarRead(0, offset, b);
        uint32_t v;
        memcpy(&v, b, 4);
        return v;
    }
    void SetReg(uint64_t offset, uint32_t v) {
        uint8_t b[4];
        memcpy(b, &v, 4);
        dev->BarWrite(0, offset, b);
    }
    uint8_t* Bar2() { return dev->BarMemory(2).data(); }
    // A call as a guest makes it: args into the call block, the number into
    // the call register; the result from the call block.
    hvchan_call_block Call(uint32_t number, std::array<uint64_t, 4> args = {}) {
        hvchan_call_block block{};
        memcpy(block.args, args.data(), sizeof block.args);
        memcpy(Bar2() + HVCHAN_BAR2_CALL_BLOCK_OFFSET, &block, sizeof block);
        SetReg(HVCHAN_REG_CALL, number);
        memcpy(&block, Bar2() + HVCHAN_BAR2_CALL_BLOCK_OFFSET, sizeof block);
        return block;
    }
    std::shared_ptr<HvchanDevice> dev;
};

TEST_F(HvchanTest, ConfigSpaceIdentifiesTheDeviceAtItsFixedBars) {
    EXPECT_EQ(dev->ConfigRead(pci::kVendorId, 2), HVCHAN_PCI_VENDOR_ID);
    EXPECT_EQ(dev->ConfigRead(pci::kDeviceId, 2), HVCHAN_PCI_DEVICE_ID);
    EXPECT_EQ(dev->ConfigRead(pci::kBar0, 4), layout::kHvchanBar0Start);
    EXPECT_EQ(dev->ConfigRead(pci::kBar0 + 8, 4), layout::kHvchanBar2Start);
    EXPECT_TRUE(dev->ConfigRead(pci::kCommand, 2) & pci::kCommandMemory);
    EXPECT_EQ(dev->BarMemory(2).size(), HVCHAN_BAR2_SIZE);
    EXPECT_TRUE(dev->BarMemory(0).empty()) << "registers trap";
}

TEST_F(HvchanTest, RegistersIdentifyTheAbi) {
    EXPECT_EQ(Reg(HVCHAN_REG_MAGIC), HVCHAN_MAGIC);
    EXPECT_EQ(Reg(HVCHAN_REG_ABI_VERSION), HVCHAN_ABI_VERSION);
    EXPECT_EQ(Reg(HVCHAN_REG_SHMEM_SIZE), HVCHAN_BAR2_SIZE);
    EXPECT_EQ(Reg(0x100), 0xffffffffu) << "an unlisted register";
    SetReg(HVCHAN_REG_MAGIC, 0);  // read-only
    EXPECT_EQ(Reg(HVCHAN_REG_MAGIC), HVCHAN_MAGIC);
    EXPECT_EQ(dev->counters().bad_register_accesses, 2u);
}

TEST_F(HvchanTest, GuestFeaturesAreMaskedToTheOffer) {
    SetReg(HVCHAN_REG_GUEST_FEATURES_LO, 0xffffffff);
    SetReg(HVCHAN_REG_GUEST_FEATURES_HI, 0xffffffff);
    EXPECT_EQ(Reg(HVCHAN_REG_GUEST_FEATURES_LO), Reg(HVCHAN_REG_HOST_FEATURES_LO));
    EXPECT_EQ(Reg(HVCHAN_REG_GUEST_FEATURES_HI), Reg(HVCHAN_REG_HOST_FEATURES_HI));
}

TEST_F(HvchanTest, NarrowAndMisalignedRegisterAccessesAreIgnored) {
    uint8_t one[1] = {0};
    dev->BarRead(0, HVCHAN_REG_MAGIC, one);
    EXPECT_EQ(one[0], 0xff);
    uint8_t four[4] = {HVCHAN_CALL_INFO, 0, 0, 0};
    dev->BarWrite(0, HVCHAN_REG_CALL + 1, four);
    EXPECT_EQ(dev->counters().calls, 0u) << "a misaligned call-register write runs nothing";
}

TEST_F(HvchanTest, InfoReportsVersionsAndPermission) {
    hvchan_call_block r = Call(HVCHAN_CALL_INFO);
    EXPECT_EQ(r.status, HVCHAN_OK);
    EXPECT_EQ(r.rets[0], sizeof(hvchan_info));
    EXPECT_EQ(r.sequence, 1u);
    EXPECT_EQ(Reg(HVCHAN_REG_SEQUENCE), 1u);
    hvchan_info info;
    memcpy(&info, Bar2() + HVCHAN_BAR2_CALL_OUT_OFFSET, sizeof info);
    EXPECT_EQ(info.abi_version, HVCHAN_ABI_VERSION);
    EXPECT_EQ(info.hv_version, 0x000102u);
    EXPECT_STREQ(info.hv_version_string, "0.1.2");
    EXPECT_EQ(info.update_permitted, 0u);
    EXPECT_STREQ(info.committed_version_string, "");
    EXPECT_EQ(info.reserved, 0u);
}

TEST_F(HvchanTest, EchoCopiesInputToOutput) {
    const char text[] = "through the hypercall channel";
    memcpy(Bar2() + HVCHAN_BAR2_CALL_IN_OFFSET + 100, text, sizeof text);
    hvchan_call_block r = Call(HVCHAN_CALL_ECHO, {100, sizeof text, 200, 0});
    ASSERT_EQ(r.status, HVCHAN_OK);
    EXPECT_EQ(r.rets[0], sizeof text);
    EXPECT_STREQ(reinterpret_cast<char*>(Bar2() + HVCHAN_BAR2_CALL_OUT_OFFSET + 200), text);
    // Length 0 is the no-op call.
    EXPECT_EQ(Call(HVCHAN_CALL_ECHO, {0, 0, 0, 0}).status, HVCHAN_OK);
    // Exactly to the end of both areas is inside.
    EXPECT_EQ(Call(HVCHAN_CALL_ECHO,
                   {HVCHAN_BAR2_CALL_IN_SIZE - 16, 16, HVCHAN_BAR2_CALL_OUT_SIZE - 16, 0})
                  .status,
              HVCHAN_OK);
}

TEST_F(HvchanTest, HostileRangesGetRangeErrorsAndTouchNothing) {
    std::vector<uint8_t> out_before(
        Bar2() + HVCHAN_BAR2_CALL_OUT_OFFSET,
        Bar2() + HVCHAN_BAR2_CALL_OUT_OFFSET + HVCHAN_BAR2_CALL_OUT_SIZE);
    const uint64_t in = HVCHAN_BAR2_CALL_IN_SIZE, out = HVCHAN_BAR2_CALL_OUT_SIZE;
    const std::array<uint64_t, 4> hostile[] = {
        {in, 1, 0, 0},              // starts at the end of the input area
        {0, in + 1, 0, 0},          // longer than the input area
        {0, out + 1, 0, 0},         // longer than the output area
        {0, 16, out - 15, 0},       // ends one past the output area
        {UINT64_MAX, 2, 0, 0},      // offset + length wraps
        {1, UINT64_MAX, 0, 0},      // length wraps
        {0, 8, UINT64_MAX - 3, 0},  // output offset wraps
        {in - 1, UINT64_MAX - in + 2, 0, 0},
    };
    for (const auto& args : hostile) {
        hvchan_call_block r = Call(HVCHAN_CALL_ECHO, args);
        EXPECT_EQ(r.status, HVCHAN_E_RANGE)
            << "in " << args[0] << " length " << args[1] << " out " << args[2];
        EXPECT_EQ(r.rets[0], 0u);
    }
    EXPECT_TRUE(
        std::equal(out_before.begin(), out_before.end(), Bar2() + HVCHAN_BAR2_CALL_OUT_OFFSET));
    EXPECT_EQ(dev->counters().errors, std::size(hostile));
    // Still answering.
    EXPECT_EQ(Call(HVCHAN_CALL_INFO).status, HVCHAN_OK);
}

TEST_F(HvchanTest, UnknownCallsAreRefused) {
    for (uint32_t number : {2u, 0x17u, 0x1fu, 0x20u, 0xffffffffu}) {
        EXPECT_EQ(Call(number).status, HVCHAN_E_UNKNOWN_CALL) << number;
        EXPECT_EQ(Reg(HVCHAN_REG_STATUS), HVCHAN_E_UNKNOWN_CALL);
    }
}

TEST(HvchanMemory, SliceChecksEveryArea) {
    auto m = HvchanMemory::Create();
    ASSERT_TRUE(m.ok());
    using Area = HvchanMemory::Area;
    EXPECT_TRUE((*m)->Slice(Area::kCallIn, HVCHAN_BAR2_CALL_IN_SIZE, 0).has_value());
    EXPECT_FALSE((*m)->Slice(Area::kCallIn, HVCHAN_BAR2_CALL_IN_SIZE + 1, 0).has_value());
    auto out = (*m)->Slice(Area::kCallOut, 0, HVCHAN_BAR2_CALL_OUT_SIZE);
    ASSERT_TRUE(out.has_value());
    EXPECT_EQ(out->data(), (*m)->bytes().data() + HVCHAN_BAR2_CALL_OUT_OFFSET);
    EXPECT_FALSE((*m)->Slice(Area::kCallOut, 1, HVCHAN_BAR2_CALL_OUT_SIZE));
    EXPECT_FALSE(HvchanMemory::Create(12345).ok());
}

TEST_F(HvchanTest, SaveRestoreRoundTripsAndRefusesBadState) {
    Call(HVCHAN_CALL_INFO);
    Call(99);
    Json saved = dev->Save();
    auto other = HvchanDevice::Create(HvchanHostInfo{});
    ASSERT_TRUE(other.ok());
    ASSERT_TRUE((*other)->Restore(saved).ok());
    EXPECT_EQ((*other)->Save(), saved);
    Json bad = saved;
    bad["guest_features"] = Json(int64_t{1} << 20);  // never offered
    EXPECT_FALSE((*other)->Restore(bad).ok());
    bad = saved;
    bad["sequence"] = Json("seven");
    EXPECT_FALSE((*other)->Restore(bad).ok());
    bad = saved;
    bad["version"] = Json(int64_t{9});
    EXPECT_FALSE((*other)->Restore(bad).ok());
    EXPECT_EQ((*other)->Save(), saved) << "a refused restore changes nothing";
}

}  // namespace
}  // namespace hvkit::hvmm
