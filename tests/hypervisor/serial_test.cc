// The 8250 UART: registers, interrupts, and state that survives save/restore.
#include <gtest/gtest.h>

#include "devices/serial.h"
#include "fake_irq.h"

namespace hvkit::hvmm {
namespace {

using testing::FakeIrq;

constexpr uint64_t kThr = 0, kIer = 1, kIir = 2, kLcr = 3, kMcr = 4, kLsr = 5, kMsr = 6, kScr = 7;

struct Uart {
    Uart() : irq(std::make_shared<FakeIrq>()) {
        dev = std::make_unique<Serial8250>(
            irq, [this](std::span<const uint8_t> b) { out.append(b.begin(), b.end()); });
    }
    uint8_t In(uint64_t reg) {
        uint8_t v = 0;
        dev->Read(reg, std::span<uint8_t>(&v, 1));
        return v;
    }
    void Out(uint64_t reg, uint8_t v) { dev->Write(reg, std::span<const uint8_t>(&v, 1)); }
    std::shared_ptr<FakeIrq> irq;
    std::unique_ptr<Serial8250> dev;
    std::string out;
};

TEST(Serial, TransmittedBytesReachTheSink) {
    Uart u;
    for (char c : std::string("hi\n")) u.Out(kThr, static_cast<uint8_t>(c));
    EXPECT_EQ(u.out, "hi\n");
    EXPECT_EQ(u.In(kLsr) & 0x60, 0x60);  // THR and transmitter empty
    EXPECT_FALSE(u.irq->level());        // no interrupts enabled
}

TEST(Serial, ThrEmptyInterruptRaisesAndIirReadAcknowledges) {
    Uart u;
    u.Out(kIer, 0x02);  // THRI: raised at once since THR is empty
    EXPECT_TRUE(u.irq->level());
    EXPECT_EQ(u.In(kIir) & 0x0f, 0x02);
    EXPECT_FALSE(u.irq->level());
    EXPECT_EQ(u.In(kIir) & 0x0f, 0x01);
    u.Out(kThr, 'x');
    EXPECT_TRUE(u.irq->level());
    EXPECT_EQ(u.irq->edges(), 2);
}

TEST(Serial, ReceivedDataInterruptAndFifoOrder) {
    Uart u;
    u.Out(kIer, 0x01);
    const uint8_t in[] = {'a', 'b'};
    u.dev->EnqueueInput(in);
    EXPECT_TRUE(u.irq->level());
    EXPECT_EQ(u.In(kIir) & 0x0f, 0x04);
    EXPECT_EQ(u.In(kLsr) & 0x01, 0x01);
    EXPECT_EQ(u.In(kThr), 'a');
    EXPECT_EQ(u.In(kThr), 'b');
    EXPECT_EQ(u.In(kLsr) & 0x01, 0x00);
    EXPECT_FALSE(u.irq->level());
}

TEST(Serial, InputPastCapacityIsDroppedAndCounted) {
    Uart u;
    std::vector<uint8_t> lots(100, 'z');
    u.dev->EnqueueInput(lots);
    EXPECT_EQ(u.dev->dropped_input(), 36u);
}

TEST(Serial, DivisorLatchAndScratch) {
    Uart u;
    u.Out(kLcr, 0x80);
    u.Out(kThr, 0x01);  // DLL
    u.Out(kIer, 0x00);  // DLM
    EXPECT_EQ(u.In(kThr), 0x01);
    u.Out(kLcr, 0x03);
    EXPECT_EQ(u.out, "");  // divisor writes are not data
    u.Out(kScr, 0x5a);
    EXPECT_EQ(u.In(kScr), 0x5a);
}

TEST(Serial, LoopbackAsLinuxProbesIt) {
    Uart u;
    u.Out(kMcr, 0x10 | 0x0a);            // loop, RTS, OUT2
    EXPECT_EQ(u.In(kMsr) & 0xf0, 0x90);  // CTS and DCD
    u.Out(kThr, 'q');
    EXPECT_EQ(u.out, "");  // looped back, not transmitted
    EXPECT_EQ(u.In(kThr), 'q');
}

// Drives (u) through the same accesses and records what the guest would see.
std::string Observe(Uart& u) {
    std::string seen;
    for (uint64_t reg : {kIir, kLcr, kMcr, kLsr, kMsr, kScr, kIer}) seen += char(u.In(reg));
    seen += u.irq->level() ? 'I' : '-';
    seen += char(u.In(kThr));
    seen += char(u.In(kThr));
    u.Out(kThr, '!');
    seen += u.irq->level() ? 'I' : '-';
    return seen + "|" + u.out;
}

TEST(Serial, SaveRestoreIntoAFreshDeviceBehavesTheSame) {
    Uart a;
    a.Out(kLcr, 0x03);
    a.Out(kIer, 0x03);
    a.Out(kScr, 0x42);
    a.Out(kMcr, 0x0b);
    a.Out(2, 0x01);  // FIFO on
    const uint8_t in[] = {'x', 'y', 'z'};
    a.dev->EnqueueInput(in);
    Json saved = a.dev->Save();
    // Through text, as it will travel to a successor process.
    auto parsed = ParseJson(DumpJson(saved), "serial state");
    ASSERT_TRUE(parsed.ok());

    Uart b;
    ASSERT_TRUE(b.dev->Restore(*parsed).ok());
    EXPECT_EQ(b.irq->level(), a.irq->level());
    EXPECT_EQ(b.dev->Save(), saved);
    EXPECT_EQ(Observe(b), Observe(a));
}

TEST(Serial, RestoreRefusesBadStateAndKeepsTheOld) {
    Uart u;
    u.Out(kScr, 0x77);
    Json good = u.dev->Save();
    auto refuse = [&](Json bad, const std::string& needle) {
        Status st = u.dev->Restore(bad);
        EXPECT_FALSE(st.ok());
        EXPECT_NE(st.message().find(needle), std::string::npos) << st.message();
        EXPECT_EQ(u.In(kScr), 0x77);
    };
    Json v = good;
    v["version"] = Json(2);
    refuse(v, "version");
    Json b = good;
    b["lcr"] = Json(256);
    refuse(b, "lcr");
    Json r = good;
    r["rx"] = BytesToJson(std::vector<uint8_t>(65, 1));
    refuse(r, "rx");
    Json m = good;
    m["ier"] = Json(0xff);
    refuse(m, "reserved");
    Json missing = good;
    missing.as_object().erase("mcr");
    refuse(missing, "mcr");
    refuse(Json("serial"), "object");
}

TEST(Serial, ResetReturnsToPowerOn) {
    Uart u;
    u.Out(kIer, 0x02);
    u.Out(kScr, 9);
    ASSERT_TRUE(u.irq->level());
    u.dev->Reset();
    EXPECT_FALSE(u.irq->level());
    EXPECT_EQ(u.In(kScr), 0);
    EXPECT_EQ(u.In(kIer), 0);
}

}  // namespace
}  // namespace hvkit::hvmm
