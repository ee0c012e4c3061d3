// Tiny real-mode payloads on the local /dev/kvm: port I/O to the UART, MMIO to
// a test device, i8042 reset, several vCPUs, stopping a busy guest. Real mode
// runs even where KVM is PVM-backed (emulated, slowly), so these run there
// too. Skipped when /dev/kvm is missing or unusable. No timings asserted.
#include <gtest/gtest.h>
#include <unistd.h>

#include <mutex>
#include <thread>

#include "arch/x86_64/layout.h"
#include "hvmm.h"

namespace hvkit::hvmm {
namespace {

// 640 KiB: real-mode RAM up to the VGA hole, so 0xa0000 is MMIO, and the MP
// table in the EBDA still fits.
constexpr uint64_t kPayloadMemory = 0xa0000;

// Payload pieces (16-bit code). Each line is one instruction.
const std::vector<uint8_t> kMovDxCom1 = {0xba, 0xf8, 0x03};  // mov dx, 0x3f8
std::vector<uint8_t> OutChar(char c) {
    return {0xb0, static_cast<uint8_t>(c),  // mov al, c
            0xee};                          // out dx, al
}
const std::vector<uint8_t> kResetViaI8042 = {
    0xb0, 0xfe,  // mov al, 0xfe
    0xe6, 0x64,  // out 0x64, al
    0xf4,        // hlt (not reached: the reset stops the VM)
    0xeb, 0xfd,  // jmp back to hlt
};
const std::vector<uint8_t> kSpin = {0xeb, 0xfe};  // jmp $

std::vector<uint8_t> Cat(std::initializer_list<std::vector<uint8_t>> parts) {
    std::vector<uint8_t> out;
    for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
    return out;
}

// Collects serial output from the vCPU thread.
struct SerialCapture {
    std::mutex mu;
    std::string text;
    std::function<void(const std::string&)> on_data;
    ByteSink Sink() {
        return [this](std::span<const uint8_t> b) {
            std::lock_guard<std::mutex> lock(mu);
            text.append(b.begin(), b.end());
            if (on_data) on_data(text);
        };
    }
    std::string Get() {
        std::lock_guard<std::mutex> lock(mu);
        return text;
    }
};

class KvmPayload : public ::testing::Test {
  protected:
    void SetUp() override {
        if (access("/dev/kvm", R_OK | W_OK) != 0) GTEST_SKIP() << "no usable /dev/kvm here";
    }
    std::unique_ptr<Machine> Build(std::vector<uint8_t> payload, uint32_t cpus = 1) {
        MachineConfig config;
        config.memory_bytes = kPayloadMemory;
        config.cpus = cpus;
        config.real_mode_payload = std::move(payload);
        config.serial_sink = serial.Sink();
        auto m = BuildMachine(config);
        EXPECT_TRUE(m.ok()) << m.status().message();
        return m.ok() ? std::move(m).value() : nullptr;
    }
    SerialCapture serial;
};

TEST_F(KvmPayload, PortIoReachesTheSerialSink) {
    auto m = Build(Cat({kMovDxCom1, OutChar('o'), OutChar('k'), OutChar('\n'), kResetViaI8042}));
    ASSERT_NE(m, nullptr);
    EXPECT_EQ(m->Run(), StopReason::kGuestReset) << m->control().detail();
    EXPECT_EQ(serial.Get(), "ok\n");
}

TEST_F(KvmPayload, UnclaimedPortsReadAllOnes) {
    auto m = Build(Cat({kMovDxCom1,
                        {0xe4, 0x99},  // in al, 0x99 (no device)
                        {0xee},        // out dx, al
                        kResetViaI8042}));
    ASSERT_NE(m, nullptr);
    EXPECT_EQ(m->Run(), StopReason::kGuestReset);
    EXPECT_EQ(serial.Get(), std::string(1, '\xff'));
}

TEST_F(KvmPayload, I8042ResetStopsTheVmCleanly) {
    auto m = Build(kResetViaI8042);
    ASSERT_NE(m, nullptr);
    EXPECT_EQ(m->Run(), StopReason::kGuestReset);
    EXPECT_NE(m->control().detail().find("i8042"), std::string::npos);
}

// An MMIO device that answers reads with 0x40 + offset and records writes.
class MmioProbe final : public Device {
  public:
    std::string_view name() const override { return "mmio-probe"; }
    void Read(uint64_t offset, std::span<uint8_t> data) override {
        for (auto& b : data) b = static_cast<uint8_t>(0x40 + offset);
    }
    void Write(uint64_t offset, std::span<const uint8_t> data) override {
        std::lock_guard<std::mutex> lock(mu);
        writes.emplace_back(offset, data[0]);
    }
    Json Save() const override { return Json::MakeObject(); }
    Status Restore(const Json&) override { return Status::Ok(); }
    void Reset() override {}
    std::mutex mu;
    std::vector<std::pair<uint64_t, uint8_t>> writes;
};

TEST_F(KvmPayload, MmioExitsReachTheMmioBus) {
    auto m = Build(Cat({
        {0xb8, 0x00, 0xa0},                    // mov ax, 0xa000
        {0x8e, 0xc0},                          // mov es, ax
        {0x26, 0xc6, 0x06, 0x10, 0x00, 0x5a},  // mov byte [es:0x10], 0x5a
        {0x26, 0xa0, 0x02, 0x00},              // mov al, [es:0x2]
        kMovDxCom1,
        {0xee},  // out dx, al
        kResetViaI8042,
    }));
    ASSERT_NE(m, nullptr);
    auto probe = std::make_shared<MmioProbe>();
    ASSERT_TRUE(m->mmio().Insert(0xa0000, 0x100, probe).ok());
    EXPECT_EQ(m->Run(), StopReason::kGuestReset) << m->control().detail();
    ASSERT_EQ(probe->writes.size(), 1u);
    EXPECT_EQ(probe->writes[0].first, 0x10u);
    EXPECT_EQ(probe->writes[0].second, 0x5a);
    EXPECT_EQ(serial.Get(), "B");  // 0x40 + 2
}

TEST_F(KvmPayload, SeveralVcpusBootAndAllStopOnReset) {
    // The APs wait for INIT/SIPI in the in-kernel LAPIC; the BSP's reset must
    // still stop and join every vCPU thread.
    auto m = Build(Cat({kMovDxCom1, OutChar('3'), kResetViaI8042}), 3);
    ASSERT_NE(m, nullptr);
    EXPECT_EQ(m->Run(), StopReason::kGuestReset);
    EXPECT_EQ(serial.Get(), "3");
}

TEST_F(KvmPayload, HostStopKicksABusyVcpu) {
    auto m = Build(Cat({kMovDxCom1, OutChar('R'), kSpin}));
    ASSERT_NE(m, nullptr);
    Machine* raw = m.get();
    serial.on_data = [raw](const std::string&) { raw->Stop(); };
    EXPECT_EQ(m->Run(), StopReason::kHostRequest);
    EXPECT_EQ(serial.Get(), "R");
}

TEST_F(KvmPayload, DeviceStateOfARunMachineSavesAndRestores) {
    auto m = Build(Cat({kMovDxCom1,
                        {0xb2, 0xff},  // mov dl, 0xff -> dx = 0x3ff (scratch)
                        {0xb0, 0x99},  // mov al, 0x99
                        {0xee},        // out dx, al
                        kResetViaI8042}));
    ASSERT_NE(m, nullptr);
    ASSERT_EQ(m->Run(), StopReason::kGuestReset);
    Json state = m->SaveDevices();
    ASSERT_NE(state.Find("serial"), nullptr);
    ASSERT_NE(state.Find("i8042"), nullptr);
    EXPECT_EQ(state.Find("serial")->Find("scr")->as_int(), 0x99);

    auto fresh = Build(kResetViaI8042);
    ASSERT_NE(fresh, nullptr);
    ASSERT_TRUE(fresh->RestoreDevices(state).ok());
    EXPECT_EQ(fresh->SaveDevices(), state);
    Json unknown = state;
    unknown["virtio-net"] = Json::MakeObject();
    EXPECT_FALSE(fresh->RestoreDevices(unknown).ok());
}

TEST_F(KvmPayload, BuildRefusesBadConfigurations) {
    MachineConfig config;
    config.memory_bytes = kPayloadMemory;
    config.serial_sink = serial.Sink();
    EXPECT_FALSE(BuildMachine(config).ok());  // neither kernel nor payload
    config.real_mode_payload = kSpin;
    config.cpus = layout::kMaxVcpus + 1;
    EXPECT_FALSE(BuildMachine(config).ok());
    config.cpus = 1;
    config.real_mode_payload.assign(layout::kRealModeMaxSize + 1, 0x90);
    EXPECT_FALSE(BuildMachine(config).ok());
}

}  // namespace
}  // namespace hvkit::hvmm
