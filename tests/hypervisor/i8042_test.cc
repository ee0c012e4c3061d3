// The i8042: Linux's probe sequence, the reset line, saved state.
#include <gtest/gtest.h>

#include "devices/i8042.h"
#include "fake_irq.h"

namespace hvkit::hvmm {
namespace {

using testing::FakeIrq;

constexpr uint64_t kData = 0, kCmd = 4;

struct Kbc {
    Kbc() : irq(std::make_shared<FakeIrq>()) {
        dev = std::make_unique<I8042>(irq, [this] { ++resets; });
    }
    uint8_t In(uint64_t port) {
        uint8_t v = 0;
        dev->Read(port, std::span<uint8_t>(&v, 1));
        return v;
    }
    void Out(uint64_t port, uint8_t v) { dev->Write(port, std::span<const uint8_t>(&v, 1)); }
    std::shared_ptr<FakeIrq> irq;
    std::unique_ptr<I8042> dev;
    int resets = 0;
};

TEST(I8042, SelfTestAndControlByte) {
    Kbc k;
    k.Out(kCmd, 0xaa);
    EXPECT_EQ(k.In(kCmd) & 0x01, 0x01);  // output buffer full
    EXPECT_TRUE(k.irq->level());
    EXPECT_EQ(k.In(kData), 0x55);
    EXPECT_FALSE(k.irq->level());
    k.Out(kCmd, 0x60);
    k.Out(kData, 0x65);
    k.Out(kCmd, 0x20);
    EXPECT_EQ(k.In(kData), 0x65);
    EXPECT_EQ(k.resets, 0);
}

TEST(I8042, KeyboardResetIsAcknowledged) {
    Kbc k;
    k.Out(kData, 0xff);
    EXPECT_EQ(k.In(kData), 0xfa);
    EXPECT_EQ(k.In(kData), 0xaa);
    EXPECT_EQ(k.In(kCmd) & 0x01, 0x00);
}

TEST(I8042, PulseResetCommandResetsTheMachine) {
    Kbc k;
    k.Out(kCmd, 0xfe);
    EXPECT_EQ(k.resets, 1);
}

TEST(I8042, OutputPortWithResetLineLowResetsTheMachine) {
    Kbc k;
    k.Out(kCmd, 0xd1);
    k.Out(kData, 0x03);  // reset line high: nothing
    EXPECT_EQ(k.resets, 0);
    k.Out(kCmd, 0xd1);
    k.Out(kData, 0x02);
    EXPECT_EQ(k.resets, 1);
}

TEST(I8042, SaveRestoreIntoAFreshDeviceBehavesTheSame) {
    Kbc a;
    a.Out(kCmd, 0x60);
    a.Out(kData, 0x45);
    a.Out(kData, 0xf2);  // identify: three bytes queued
    a.Out(kCmd, 0xd1);   // a pending command that takes a data byte
    Json saved = a.dev->Save();
    auto parsed = ParseJson(DumpJson(saved), "i8042 state");
    ASSERT_TRUE(parsed.ok());
    Kbc b;
    ASSERT_TRUE(b.dev->Restore(*parsed).ok());
    EXPECT_EQ(b.irq->level(), a.irq->level());
    for (int i = 0; i < 3; ++i) EXPECT_EQ(b.In(kData), a.In(kData));
    // The pending output-port write completes the same way on both.
    a.Out(kData, 0x00);
    b.Out(kData, 0x00);
    EXPECT_EQ(a.resets, 1);
    EXPECT_EQ(b.resets, 1);
}

TEST(I8042, RestoreRefusesBadState) {
    Kbc k;
    Json s = k.dev->Save();
    s["pending_command"] = Json(0xaa);
    EXPECT_FALSE(k.dev->Restore(s).ok());
    Json o = k.dev->Save();
    o["output"] = BytesToJson(std::vector<uint8_t>(17, 0));
    EXPECT_FALSE(k.dev->Restore(o).ok());
    Json t = k.dev->Save();
    t["output"] = Json(Json::Array{Json("a")});
    EXPECT_FALSE(k.dev->Restore(t).ok());
}

}  // namespace
}  // namespace hvkit::hvmm
