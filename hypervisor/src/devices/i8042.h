// The i8042 keyboard controller: Linux's probe and the reset line, which
// ends the VM. Its row in the device table (devices/i8042.cc) places it at
// ports 0x60 and 0x64, IRQ 1.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <string_view>
#include <vector>

#include "hvmm.h"

namespace hvkit::hvmm {

// The i8042 keyboard controller, enough for Linux's probe and for its reset
// line: command 0xfe (or an output-port write with bit 0 clear) calls
// (on_reset). Ports: offset 0 = data (0x60), offset 4 = command/status (0x64).
class I8042 final : public Device {
  public:
    I8042(std::shared_ptr<IrqLine> keyboard_irq, std::function<void()> on_reset);
    std::string_view name() const override { return "i8042"; }
    void Read(uint64_t offset, std::span<uint8_t> data) override;
    void Write(uint64_t offset, std::span<const uint8_t> data) override;
    Json Save() const override;
    Status Restore(const Json& state) override;
    void Reset() override;

    struct Registers {
        uint8_t status = 0x1c;   // system flag, command/data, unlocked
        uint8_t control = 0x47;  // interrupts on, translation, system flag
        uint8_t pending_command = 0;
        std::vector<uint8_t> output;  // bytes waiting for the guest at port 0x60
    };

  private:
    void Command(uint8_t command);
    void Data(uint8_t value);
    void Push(uint8_t byte);
    void UpdateInterrupt();
    mutable std::mutex mu_;
    Registers r_;
    bool irq_level_ = false;
    std::shared_ptr<IrqLine> irq_;
    std::function<void()> on_reset_;
};

}  // namespace hvkit::hvmm
