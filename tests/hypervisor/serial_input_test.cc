// Host input into the UART: nothing dropped when the guest reads slower than
// the host writes, EOF ends the reading only; --serial-input's terminal
// handling where stdin is not a terminal.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <time.h>
#include <unistd.h>

#include "control/control.h"
#include "fake_irq.h"

namespace hvkit::hvmm {
namespace {

constexpr uint64_t kData = 0, kLsr = 5;

uint8_t ReadReg(Serial8250& uart, uint64_t reg) {
    uint8_t b = 0;
    uart.Read(reg, std::span<uint8_t>(&b, 1));
    return b;
}

int64_t NowMs() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return int64_t{ts.tv_sec} * 1000 + ts.tv_nsec / 1000000;
}

struct Pipe {
    Pipe() {
        int fds[2];
        EXPECT_EQ(pipe2(fds, O_CLOEXEC), 0);
        read_end = UniqueFd(fds[0]);
        write_end = UniqueFd(fds[1]);
    }
    UniqueFd read_end, write_end;
};

TEST(SerialInput, OfferInputTakesOnlyWhatFits) {
    Serial8250 uart(std::make_shared<testing::FakeIrq>(), [](std::span<const uint8_t>) {});
    std::vector<uint8_t> bytes(100, 'a');
    EXPECT_EQ(uart.OfferInput(bytes), 64u);  // the receive FIFO holds 64
    EXPECT_EQ(uart.OfferInput(bytes), 0u);
    EXPECT_EQ(uart.dropped_input(), 0u);
    ReadReg(uart, kData);
    EXPECT_EQ(uart.OfferInput(bytes), 1u);
}

TEST(SerialInput, PumpDeliversEveryByteInOrderAndStopsAtEof) {
    Serial8250 uart(std::make_shared<testing::FakeIrq>(), [](std::span<const uint8_t>) {});
    Pipe p;
    SerialInputPump pump(p.read_end.get(), uart, -1);
    std::string sent;
    for (int i = 0; i < 1000; ++i) sent += static_cast<char>('A' + i % 26);
    ASSERT_EQ(write(p.write_end.get(), sent.data(), sent.size()),
              static_cast<ssize_t>(sent.size()));
    p.write_end = UniqueFd();  // EOF after the data
    std::string received;
    int64_t deadline = NowMs() + 30000;
    while (received.size() < sent.size() && NowMs() < deadline) {
        if (ReadReg(uart, kLsr) & 0x01) {
            received += static_cast<char>(ReadReg(uart, kData));
        } else {
            usleep(1000);
        }
    }
    EXPECT_EQ(received, sent);  // 1000 bytes through a 64-byte FIFO: none dropped
    EXPECT_EQ(uart.dropped_input(), 0u);
    while (!pump.finished() && NowMs() < deadline) usleep(1000);
    EXPECT_TRUE(pump.finished());
}

TEST(SerialInput, ANonTerminalIsLeftAsItIs) {
    Pipe p;
    EXPECT_TRUE(CanReadWithoutStopping(p.read_end.get()));
    TerminalRawMode raw(p.read_end.get());
    EXPECT_FALSE(raw.active());
}

}  // namespace
}  // namespace hvkit::hvmm
