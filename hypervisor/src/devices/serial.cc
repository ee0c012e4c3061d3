// An 8250/16550A UART as Linux's 8250 driver probes and drives it. Transmit
// is instantaneous (THR empty again at once); the guest learns that through
// the THR-empty interrupt, received data through the data-ready interrupt.
#include <algorithm>
#include <cstring>

#include "arch/x86_64/layout.h"
#include "devices/serial.h"

namespace hvkit::hvmm {

namespace {

// Register offsets from the base port.
constexpr uint8_t kData = 0, kIer = 1, kIirFcr = 2, kLcr = 3, kMcr = 4, kLsr = 5, kMsr = 6,
                  kScr = 7;
constexpr uint8_t kLcrDlab = 0x80;
constexpr uint8_t kIerRdi = 0x01, kIerThri = 0x02;
constexpr uint8_t kIirNone = 0x01, kIirThri = 0x02, kIirRdi = 0x04, kIirFifo = 0xc0;
constexpr uint8_t kFcrEnable = 0x01, kFcrClearRx = 0x02;
constexpr uint8_t kLsrDataReady = 0x01, kLsrThre = 0x20, kLsrTemt = 0x40;
constexpr uint8_t kLsrErrors = 0x1e;  // overrun, parity, framing, break
constexpr uint8_t kMcrLoop = 0x10;
constexpr size_t kRxCapacity = 64;
constexpr int64_t kStateVersion = 1;

}  // namespace

Serial8250::Serial8250(std::shared_ptr<IrqLine> irq, ByteSink sink)
    : irq_(std::move(irq)), sink_(std::move(sink)) {}

void Serial8250::Read(uint64_t offset, std::span<uint8_t> data) {
    memset(data.data(), 0xff, data.size());
    if (data.size() != 1 || offset > kScr) return;  // the 8250 has byte registers only
    std::lock_guard<std::mutex> lock(mu_);
    data[0] = ReadRegister(static_cast<uint8_t>(offset));
    UpdateInterrupt();
}

void Serial8250::Write(uint64_t offset, std::span<const uint8_t> data) {
    if (data.size() != 1 || offset > kScr) return;
    std::lock_guard<std::mutex> lock(mu_);
    WriteRegister(static_cast<uint8_t>(offset), data[0]);
    UpdateInterrupt();
}

uint8_t Serial8250::ReadRegister(uint8_t reg) {
    switch (reg) {
        case kData:
            if (r_.lcr & kLcrDlab) return r_.dll;
            if (r_.rx.empty()) return 0;
            {
                uint8_t b = r_.rx.front();
                r_.rx.erase(r_.rx.begin());
                return b;
            }
        case kIer:
            return (r_.lcr & kLcrDlab) ? r_.dlm : r_.ier;
        case kIirFcr: {
            uint8_t iir = r_.iir | ((r_.fcr & kFcrEnable) ? kIirFifo : 0);
            // Reading IIR while it reports THR empty acknowledges that interrupt.
            if ((r_.iir & 0x0f) == kIirThri) r_.thr_interrupt_pending = false;
            return iir;
        }
        case kLcr:
            return r_.lcr;
        case kMcr:
            return r_.mcr;
        case kLsr: {
            uint8_t lsr = r_.lsr | (r_.rx.empty() ? 0 : kLsrDataReady);
            r_.lsr &= static_cast<uint8_t>(~kLsrErrors);  // error bits clear on read
            return lsr;
        }
        case kMsr:
            if (r_.mcr & kMcrLoop) {
                // Loopback: DTR->DSR, RTS->CTS, OUT1->RI, OUT2->DCD.
                return static_cast<uint8_t>(((r_.mcr & 0x01) << 5) | ((r_.mcr & 0x02) << 3) |
                                            ((r_.mcr & 0x04) << 4) | ((r_.mcr & 0x08) << 4));
            }
            return r_.msr;
        case kScr:
            return r_.scr;
    }
    return 0xff;
}

void Serial8250::WriteRegister(uint8_t reg, uint8_t value) {
    switch (reg) {
        case kData:
            if (r_.lcr & kLcrDlab) {
                r_.dll = value;
                return;
            }
            if (r_.mcr & kMcrLoop) {
                if (r_.rx.size() < kRxCapacity) r_.rx.push_back(value);
            } else if (sink_) {
                sink_(std::span<const uint8_t>(&value, 1));
            }
            r_.lsr |= kLsrThre | kLsrTemt;
            r_.thr_interrupt_pending = true;
            return;
        case kIer:
            if (r_.lcr & kLcrDlab) {
                r_.dlm = value;
                return;
            }
            // Enabling THRI while THR is empty raises it at once (as on real parts).
            if ((value & kIerThri) && !(r_.ier & kIerThri) && (r_.lsr & kLsrThre)) {
                r_.thr_interrupt_pending = true;
            }
            r_.ier = value & 0x0f;
            return;
        case kIirFcr:
            r_.fcr = value & 0xc9;  // enable, DMA mode, trigger level
            if (value & kFcrClearRx) r_.rx.clear();
            return;
        case kLcr:
            r_.lcr = value;
            return;
        case kMcr:
            r_.mcr = value & 0x1f;
            return;
        case kScr:
            r_.scr = value;
            return;
        default:
            return;  // LSR and MSR are read-only
    }
}

void Serial8250::UpdateInterrupt() {
    if ((r_.ier & kIerRdi) && !r_.rx.empty()) {
        r_.iir = kIirRdi;
    } else if ((r_.ier & kIerThri) && r_.thr_interrupt_pending) {
        r_.iir = kIirThri;
    } else {
        r_.iir = kIirNone;
    }
    bool level = r_.iir != kIirNone;
    if (level != irq_level_) {
        irq_level_ = level;
        if (irq_) irq_->Set(level);
    }
}

void Serial8250::EnqueueInput(std::span<const uint8_t> bytes) {
    std::lock_guard<std::mutex> lock(mu_);
    for (uint8_t b : bytes) {
        if (r_.rx.size() < kRxCapacity) {
            r_.rx.push_back(b);
        } else {
            ++dropped_;
        }
    }
    UpdateInterrupt();
}

size_t Serial8250::OfferInput(std::span<const uint8_t> bytes) {
    std::lock_guard<std::mutex> lock(mu_);
    size_t n = std::min(bytes.size(), kRxCapacity - std::min(kRxCapacity, r_.rx.size()));
    r_.rx.insert(r_.rx.end(), bytes.begin(), bytes.begin() + static_cast<ptrdiff_t>(n));
    if (n > 0) UpdateInterrupt();
    return n;
}

uint64_t Serial8250::dropped_input() const {
    std::lock_guard<std::mutex> lock(mu_);
    return dropped_;
}

Json Serial8250::Save() const {
    std::lock_guard<std::mutex> lock(mu_);
    Json s = Json::MakeObject();
    s["version"] = Json(kStateVersion);
    s["ier"] = Json(int{r_.ier});
    s["iir"] = Json(int{r_.iir});
    s["lcr"] = Json(int{r_.lcr});
    s["mcr"] = Json(int{r_.mcr});
    s["lsr"] = Json(int{r_.lsr});
    s["msr"] = Json(int{r_.msr});
    s["scr"] = Json(int{r_.scr});
    s["dll"] = Json(int{r_.dll});
    s["dlm"] = Json(int{r_.dlm});
    s["fcr"] = Json(int{r_.fcr});
    s["thr_interrupt_pending"] = Json(r_.thr_interrupt_pending);
    s["rx"] = BytesToJson(r_.rx);
    return s;
}

Status Serial8250::Restore(const Json& state) {
    HVKIT_RETURN_IF_ERROR(CheckStateVersion(state, kStateVersion, "serial"));
    Registers r;
    struct Field {
        const char* key;
        uint8_t* dst;
    };
    const Field fields[] = {{"ier", &r.ier}, {"iir", &r.iir}, {"lcr", &r.lcr}, {"mcr", &r.mcr},
                            {"lsr", &r.lsr}, {"msr", &r.msr}, {"scr", &r.scr}, {"dll", &r.dll},
                            {"dlm", &r.dlm}, {"fcr", &r.fcr}};
    for (const Field& f : fields) {
        HVKIT_ASSIGN_OR_RETURN(*f.dst, StateByte(state, f.key, "serial"));
    }
    HVKIT_ASSIGN_OR_RETURN(r.thr_interrupt_pending,
                           StateBool(state, "thr_interrupt_pending", "serial"));
    HVKIT_ASSIGN_OR_RETURN(r.rx, StateBytes(state, "rx", kRxCapacity, "serial"));
    // Values a real UART cannot hold are refused rather than masked.
    if (r.ier > 0x0f || r.mcr > 0x1f) {
        return Error(ErrorCode::kMalformed, "saved serial state: ier or mcr has reserved bits set");
    }
    std::lock_guard<std::mutex> lock(mu_);
    r_ = std::move(r);
    UpdateInterrupt();
    return Status::Ok();
}

void Serial8250::Reset() {
    std::lock_guard<std::mutex> lock(mu_);
    r_ = Registers{};
    UpdateInterrupt();
}

// --- The serial console's row in the device table ---------------------------

namespace {

constexpr DeviceOption kSerialOptions[] = {{"--serial-log", true}, {"--serial-input", true}};
constexpr const char* kSerialState[] = {"serial"};

Status ParseSerialOptions(const cli::Args& args, DeviceConfigs& config) {
    HVKIT_ASSIGN_OR_RETURN(config.serial.log_path, args.One("--serial-log"));
    HVKIT_ASSIGN_OR_RETURN(auto input, args.One("--serial-input"));
    std::string source = input.value_or("stdin");
    if (source != "stdin" && source != "none") {
        return Error(ErrorCode::kInvalidArgument,
                     "--serial-input '" + source + "': use stdin or none");
    }
    config.serial.read_stdin = source == "stdin";
    return Status::Ok();
}

// COM1 at port 0x3f8, IRQ 4; its output goes to the machine's serial sink.
Status SetupSerial(DeviceContext& ctx) {
    auto uart = std::make_shared<Serial8250>(ctx.irq_line(layout::kIrqCom1), ctx.serial_sink);
    HVKIT_RETURN_IF_ERROR(ctx.pio.Insert(layout::kPortCom1, layout::kPortUartSize, uart));
    ctx.devices.push_back(std::move(uart));
    return Status::Ok();
}

}  // namespace

extern const DeviceModule kSerialModule = {
    .name = "serial",
    .options = kSerialOptions,
    .synopsis = "[--serial-log FILE] [--serial-input stdin|none]",
    .help =
        "The serial console (COM1, ttyS0) goes to stdout, or to FILE with\n"
        "--serial-log. Its input is read from stdin (default; a terminal is\n"
        "put in raw mode, Ctrl-C still stops hvmm, and a terminal hvmm runs\n"
        "in the background of is not read; EOF stops reading, not the VM)\n"
        "or nothing with --serial-input none.",
    .parse = ParseSerialOptions,
    .setup = SetupSerial,
    .saved_state = kSerialState,
};

}  // namespace hvkit::hvmm
