// COM1: an 8250/16550A UART, as Linux's 8250 driver probes and drives it.
// Its row in the device table (devices/serial.cc) places it at port 0x3f8,
// IRQ 4; the host feeds its receive side (control/serial_input.cc).
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <string_view>
#include <vector>

#include "hvmm.h"

namespace hvkit::hvmm {

// An 8250/16550A UART: divisor latch, FIFO control, loopback, modem status,
// and the THR-empty / received-data interrupts on (irq).
class Serial8250 final : public Device {
  public:
    Serial8250(std::shared_ptr<IrqLine> irq, ByteSink sink);
    std::string_view name() const override { return "serial"; }
    void Read(uint64_t offset, std::span<uint8_t> data) override;
    void Write(uint64_t offset, std::span<const uint8_t> data) override;
    Json Save() const override;
    Status Restore(const Json& state) override;
    void Reset() override;
    // Queues host input (bytes) for the guest to read; bytes past the
    // receive buffer's capacity are dropped and counted.
    void EnqueueInput(std::span<const uint8_t> bytes);
    // Queues as many leading bytes of (bytes) as the receive buffer has room
    // for and returns how many; drops nothing (for a host input source that
    // can hold the rest back).
    size_t OfferInput(std::span<const uint8_t> bytes);
    uint64_t dropped_input() const;

    struct Registers {
        uint8_t ier = 0, iir = 0x01, lcr = 0, mcr = 0, lsr = 0x60, msr = 0xb0, scr = 0;
        uint8_t dll = 0x0c, dlm = 0, fcr = 0;
        bool thr_interrupt_pending = false;
        std::vector<uint8_t> rx;
    };

  private:
    uint8_t ReadRegister(uint8_t reg);
    void WriteRegister(uint8_t reg, uint8_t value);
    void UpdateInterrupt();  // recomputes IIR and drives the IRQ line
    mutable std::mutex mu_;
    Registers r_;
    uint64_t dropped_ = 0;
    bool irq_level_ = false;
    std::shared_ptr<IrqLine> irq_;
    ByteSink sink_;
};

}  // namespace hvkit::hvmm
