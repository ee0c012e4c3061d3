// The i8042 keyboard controller: enough for Linux's probe (self test, control
// byte, a keyboard that acknowledges) and its reset line, which is how a
// guest with reboot=k restarts. hvmm treats a reset as the end of the VM.
#include <cstring>

#include "arch/x86_64/layout.h"
#include "devices/i8042.h"

namespace hvkit::hvmm {

namespace {

constexpr uint64_t kDataOffset = 0;     // port 0x60
constexpr uint64_t kCommandOffset = 4;  // port 0x64
constexpr uint8_t kStatusOutputFull = 0x01, kStatusCommand = 0x08;
constexpr uint8_t kControlKbdInt = 0x01;
constexpr uint8_t kCmdReadControl = 0x20, kCmdWriteControl = 0x60, kCmdDisableAux = 0xa7,
                  kCmdEnableAux = 0xa8, kCmdSelfTest = 0xaa, kCmdKbdTest = 0xab,
                  kCmdDisableKbd = 0xad, kCmdEnableKbd = 0xae, kCmdReadOutputPort = 0xd0,
                  kCmdWriteOutputPort = 0xd1, kCmdPulseReset = 0xfe;
constexpr uint8_t kKbdReset = 0xff, kKbdIdentify = 0xf2, kKbdAck = 0xfa, kKbdSelfTestOk = 0xaa;
constexpr uint8_t kOutputPortResetLine = 0x01;  // 0 asserts the CPU reset
constexpr size_t kOutputCapacity = 16;
constexpr int64_t kStateVersion = 1;

}  // namespace

I8042::I8042(std::shared_ptr<IrqLine> keyboard_irq, std::function<void()> on_reset)
    : irq_(std::move(keyboard_irq)), on_reset_(std::move(on_reset)) {}

void I8042::Read(uint64_t offset, std::span<uint8_t> data) {
    memset(data.data(), 0xff, data.size());
    if (data.size() != 1) return;
    std::lock_guard<std::mutex> lock(mu_);
    if (offset == kCommandOffset) {
        data[0] = r_.status;
    } else if (offset == kDataOffset) {
        if (r_.output.empty()) {
            data[0] = 0;
        } else {
            data[0] = r_.output.front();
            r_.output.erase(r_.output.begin());
        }
        UpdateInterrupt();
    }
}

void I8042::Write(uint64_t offset, std::span<const uint8_t> data) {
    if (data.size() != 1) return;
    bool reset = false;
    {
        std::lock_guard<std::mutex> lock(mu_);
        if (offset == kCommandOffset) {
            r_.status |= kStatusCommand;
            reset = data[0] == kCmdPulseReset;
            if (!reset) Command(data[0]);
        } else if (offset == kDataOffset) {
            r_.status &= static_cast<uint8_t>(~kStatusCommand);
            reset =
                r_.pending_command == kCmdWriteOutputPort && (data[0] & kOutputPortResetLine) == 0;
            if (!reset) Data(data[0]);
        }
        UpdateInterrupt();
    }
    if (reset && on_reset_) on_reset_();
}

void I8042::Command(uint8_t command) {
    r_.pending_command = 0;
    switch (command) {
        case kCmdReadControl:
            Push(r_.control);
            break;
        case kCmdWriteControl:
        case kCmdWriteOutputPort:
            r_.pending_command = command;
            break;
        case kCmdDisableAux:
            r_.control |= 0x20;
            break;
        case kCmdEnableAux:
            r_.control &= static_cast<uint8_t>(~0x20);
            break;
        case kCmdSelfTest:
            Push(0x55);
            break;
        case kCmdKbdTest:
            Push(0x00);
            break;
        case kCmdDisableKbd:
            r_.control |= 0x10;
            break;
        case kCmdEnableKbd:
            r_.control &= static_cast<uint8_t>(~0x10);
            break;
        case kCmdReadOutputPort:
            Push(kOutputPortResetLine | 0x02);
            break;  // reset high, A20 on
        default:
            break;  // no AUX port, no other commands: the guest sees no answer
    }
}

void I8042::Data(uint8_t value) {
    uint8_t pending = r_.pending_command;
    r_.pending_command = 0;
    if (pending == kCmdWriteControl) {
        r_.control = value;
        return;
    }
    if (pending == kCmdWriteOutputPort) return;  // reset line high: nothing to do
    // A byte for the keyboard itself.
    Push(kKbdAck);
    if (value == kKbdReset) Push(kKbdSelfTestOk);
    if (value == kKbdIdentify) {
        Push(0xab);
        Push(0x83);  // MF2 keyboard
    }
}

void I8042::Push(uint8_t byte) {
    if (r_.output.size() < kOutputCapacity) r_.output.push_back(byte);
}

void I8042::UpdateInterrupt() {
    if (r_.output.empty()) {
        r_.status &= static_cast<uint8_t>(~kStatusOutputFull);
    } else {
        r_.status |= kStatusOutputFull;
    }
    bool level = !r_.output.empty() && (r_.control & kControlKbdInt);
    if (level != irq_level_) {
        irq_level_ = level;
        if (irq_) irq_->Set(level);
    }
}

Json I8042::Save() const {
    std::lock_guard<std::mutex> lock(mu_);
    Json s = Json::MakeObject();
    s["version"] = Json(kStateVersion);
    s["status"] = Json(int{r_.status});
    s["control"] = Json(int{r_.control});
    s["pending_command"] = Json(int{r_.pending_command});
    s["output"] = BytesToJson(r_.output);
    return s;
}

Status I8042::Restore(const Json& state) {
    HVKIT_RETURN_IF_ERROR(CheckStateVersion(state, kStateVersion, "i8042"));
    Registers r;
    HVKIT_ASSIGN_OR_RETURN(r.status, StateByte(state, "status", "i8042"));
    HVKIT_ASSIGN_OR_RETURN(r.control, StateByte(state, "control", "i8042"));
    HVKIT_ASSIGN_OR_RETURN(r.pending_command, StateByte(state, "pending_command", "i8042"));
    HVKIT_ASSIGN_OR_RETURN(r.output, StateBytes(state, "output", kOutputCapacity, "i8042"));
    if (r.pending_command != 0 && r.pending_command != kCmdWriteControl &&
        r.pending_command != kCmdWriteOutputPort) {
        return Error(ErrorCode::kMalformed,
                     "saved i8042 state: pending_command is not one that takes a data byte");
    }
    std::lock_guard<std::mutex> lock(mu_);
    r_ = std::move(r);
    UpdateInterrupt();
    return Status::Ok();
}

void I8042::Reset() {
    std::lock_guard<std::mutex> lock(mu_);
    r_ = Registers{};
    UpdateInterrupt();
}

// --- The i8042's row in the device table --------------------------------------

namespace {

constexpr const char* kI8042State[] = {"i8042"};

// Ports 0x60 and 0x64, IRQ 1; a reset through it ends the VM cleanly.
Status SetupI8042(DeviceContext& ctx) {
    VmControl* control = &ctx.control;
    auto i8042 = std::make_shared<I8042>(ctx.irq_line(layout::kIrqI8042Keyboard), [control] {
        control->RequestStop(StopReason::kGuestReset, "guest reset through the i8042");
    });
    uint64_t size = layout::kPortI8042Command - layout::kPortI8042Data + 1;
    HVKIT_RETURN_IF_ERROR(ctx.pio.Insert(layout::kPortI8042Data, size, i8042));
    ctx.devices.push_back(std::move(i8042));
    return Status::Ok();
}

}  // namespace

extern const DeviceModule kI8042Module = {
    .name = "i8042",
    .options = {},
    .synopsis = "",
    .help = "",
    .parse = nullptr,
    .setup = SetupI8042,
    .saved_state = kI8042State,
};

}  // namespace hvkit::hvmm
