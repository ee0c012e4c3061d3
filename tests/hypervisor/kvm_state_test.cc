// Machine state across machines on the local /dev/kvm: a guest stopped
// mid-loop is saved, restored into a freshly built machine, and goes on from
// where it was (the live-upgrade path, within one process). Skipped without
// a usable /dev/kvm.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <functional>
#include <mutex>
#include <thread>

#include "arch/x86_64/arch.h"
#include "hvkit/crypto.h"
#include "hvkit/fs.h"
#include "hvmm.h"

namespace hvkit::hvmm {
namespace {

constexpr uint64_t kFlag = 0x18000;  // resume.S spins until this byte is set

struct Serial {
    std::mutex mu;
    std::string text;
    ByteSink Sink() {
        return [this](std::span<const uint8_t> b) {
            std::lock_guard lock(mu);
            text.append(b.begin(), b.end());
        };
    }
    std::string Get() {
        std::lock_guard lock(mu);
        return text;
    }
};

class KvmState : public ::testing::Test {
  protected:
    void SetUp() override {
        if (access("/dev/kvm", R_OK | W_OK) != 0) GTEST_SKIP() << "no usable /dev/kvm here";
        auto bytes = ReadFile(std::string(HVKIT_PAYLOAD_DIR) + "/resume.bin", 1 << 16);
        ASSERT_TRUE(bytes.ok()) << bytes.status().message();
        payload_.assign(bytes->begin(), bytes->end());
    }
    // The tests' machine without its boot image (what AdoptMachine takes).
    static MachineConfig Config(Serial& serial, bool hvchan) {
        MachineConfig config;
        config.memory_bytes = 0xa0000;
        config.devices.hvchan.enabled = hvchan;
        config.serial_sink = serial.Sink();
        return config;
    }
    std::unique_ptr<Machine> Build(Serial& serial, bool hvchan = true) {
        MachineConfig config = Config(serial, hvchan);
        config.real_mode_payload = payload_;
        auto m = BuildMachine(config);
        EXPECT_TRUE(m.ok()) << m.status().message();
        return m.ok() ? std::move(*m) : nullptr;
    }
    // Runs (m) until its guest printed '1', then stops it.
    void RunUntilSpinning(Machine& m, Serial& serial) {
        std::thread stopper([&] {
            auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
            while (serial.Get().empty() && std::chrono::steady_clock::now() < deadline) {
                std::this_thread::sleep_for(std::chrono::milliseconds(5));
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(20));  // into the loop
            m.Stop();
        });
        EXPECT_EQ(m.Run(), StopReason::kHostRequest);
        stopper.join();
        ASSERT_EQ(serial.Get(), "1");
    }
    // A machine on (serial) run until its guest spins, in (m), and its saved
    // state, in (state). Call with ASSERT_NO_FATAL_FAILURE.
    void BuildRunAndSave(Serial& serial, std::unique_ptr<Machine>& m, Json& state) {
        m = Build(serial);
        ASSERT_NE(m, nullptr);
        RunUntilSpinning(*m, serial);
        auto saved = m->SaveState();
        ASSERT_TRUE(saved.ok()) << saved.status().message();
        state = std::move(*saved);
    }
    std::vector<uint8_t> payload_;
};

TEST_F(KvmState, ARestoredMachineGoesOnFromTheSavedState) {
    Serial first_serial;
    std::unique_ptr<Machine> first;
    Json state;
    ASSERT_NO_FATAL_FAILURE(BuildRunAndSave(first_serial, first, state));
    // Through text, as it would cross to another process.
    auto reparsed = ParseJson(DumpJson(state), "machine state");
    ASSERT_TRUE(reparsed.ok());

    Serial second_serial;
    auto second = Build(second_serial);
    ASSERT_NE(second, nullptr);
    ASSERT_TRUE(second->memory().Write(kFlag, std::vector<uint8_t>{1}).ok());
    Status st = second->RestoreState(*reparsed);
    ASSERT_TRUE(st.ok()) << st.message();
    // A machine that did not resume would print '1' and spin: stop it then.
    std::thread watchdog([&] {
        auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
        while (!second->control().stop_requested() && std::chrono::steady_clock::now() < deadline) {
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        second->Stop();
    });
    EXPECT_EQ(second->Run(), StopReason::kGuestReset) << second->control().detail();
    watchdog.join();
    EXPECT_EQ(second_serial.Get(), "2") << "the restored guest started over instead of resuming";
}

TEST_F(KvmState, RestoreRefusesStateThatDoesNotFit) {
    Serial serial;
    auto m = Build(serial);
    ASSERT_NE(m, nullptr);
    auto state = m->SaveState();
    ASSERT_TRUE(state.ok()) << state.status().message();

    Json extra_vcpu = *state;
    extra_vcpu["vcpus"].as_array().push_back(extra_vcpu["vcpus"].as_array()[0]);
    Status st = m->RestoreState(extra_vcpu);
    EXPECT_NE(st.message().find("2 vCPUs; this machine has 1"), std::string::npos) << st.message();

    Json short_regs = *state;
    short_regs["vcpus"].as_array()[0]["regs"] = Json("00ff");
    st = m->RestoreState(short_regs);
    EXPECT_NE(st.message().find("\"regs\" is not hex of"), std::string::npos) << st.message();

    Json no_hvchan = *state;
    no_hvchan["devices"].as_object().erase("hvchan");
    st = m->RestoreState(no_hvchan);
    EXPECT_NE(st.message().find("lacks device \"hvchan\""), std::string::npos) << st.message();

    Serial other_serial;
    auto without = Build(other_serial, /*hvchan=*/false);
    ASSERT_NE(without, nullptr);
    st = without->RestoreState(*state);
    EXPECT_NE(st.message().find("which this machine lacks"), std::string::npos) << st.message();
}

// The paths (like "vcpus/0/lapic") where (a) and (b) differ, in (out). The
// values that run on by themselves are left out: the VM clock, the PIT
// (its channels carry load times on the host's clock), the TSC.
void Differences(const Json& a, const Json& b, const std::string& at,
                 std::vector<std::string>& out) {
    if (at == "/vm/clock" || at == "/vm/pit") return;
    if (a.is_object() && b.is_object()) {
        for (const auto& [key, value] : a.as_object()) {
            const Json* other = b.Find(key);
            if (other == nullptr) {
                out.push_back(at + "/" + key + " (missing)");
            } else {
                Differences(value, *other, at + "/" + key, out);
            }
        }
        return;
    }
    if (a.is_array() && b.is_array() && a.as_array().size() == b.as_array().size()) {
        bool msr = a.as_array().size() == 2 && a.as_array()[0].is_int() &&
                   at.find("/msrs/") != std::string::npos;
        if (msr && a.as_array()[0].as_int() == 0x10) return;  // IA32_TSC
        for (size_t i = 0; i < a.as_array().size(); ++i) {
            Differences(a.as_array()[i], b.as_array()[i], at + "/" + std::to_string(i), out);
        }
        return;
    }
    if (DumpJson(a, 0) != DumpJson(b, 0)) out.push_back(at);
}

// What a successor builds: the same machine over the first one's fds
// (AdoptMachine), restored, saves the state it was given. Only what runs on
// by itself may differ: the VM clock and the TSC, which advance.
TEST_F(KvmState, SaveAdoptRestoreSaveGivesTheSameState) {
    Serial first_serial;
    std::unique_ptr<Machine> first;
    Json saved;
    ASSERT_NO_FATAL_FAILURE(BuildRunAndSave(first_serial, first, saved));

    HandoverFds fds;
    for (const SharedFd& s : first->SharedFds()) {
        ASSERT_TRUE(fds.Add(s.name, UniqueFd(fcntl(s.fd, F_DUPFD_CLOEXEC, 0))).ok());
    }
    Serial second_serial;
    MachineConfig config = Config(second_serial, /*hvchan=*/true);
    auto second = AdoptMachine(config, fds);
    ASSERT_TRUE(second.ok()) << second.status().message();
    Status st = (*second)->RestoreState(*ParseJson(DumpJson(saved), "machine state"));
    ASSERT_TRUE(st.ok()) << st.message();
    auto again = (*second)->SaveState();
    ASSERT_TRUE(again.ok()) << again.status().message();

    std::vector<std::string> differ;
    Differences(saved, *again, "", differ);
    EXPECT_EQ(differ, std::vector<std::string>{}) << "these differ after save, restore, save";
    // The guest RAM is the same memory, not a copy.
    ASSERT_TRUE(first->memory().Write(kFlag, std::vector<uint8_t>{7}).ok());
    uint8_t seen = 0;
    ASSERT_TRUE((*second)->memory().Read(kFlag, {&seen, 1}).ok());
    EXPECT_EQ(seen, 7);
}

// (state)'s vCPU 0 CPUID with (change) applied to leaf (function).(index).
Json WithCpuid(Json state, uint32_t function, uint32_t index,
               const std::function<void(kvm_cpuid_entry2&)>& change) {
    Json& cpuid = state["vcpus"].as_array()[0]["cpuid"];
    auto bytes = HexDecode(cpuid.as_string(), "cpuid");
    EXPECT_TRUE(bytes.ok());
    std::vector<kvm_cpuid_entry2> entries(bytes->size() / sizeof(kvm_cpuid_entry2));
    memcpy(entries.data(), bytes->data(), bytes->size());
    bool found = false;
    for (kvm_cpuid_entry2& e : entries) {
        if (e.function == function && e.index == index) {
            change(e);
            found = true;
        }
    }
    EXPECT_TRUE(found) << "no CPUID leaf " << function << "." << index;
    cpuid = Json(HexEncode({reinterpret_cast<const uint8_t*>(entries.data()),
                            entries.size() * sizeof(kvm_cpuid_entry2)}));
    return state;
}

// A takeover's successor hands the guest back on a failed trial: the old
// machine, whose vCPUs ran, restores the state into itself. KVM refuses a
// CPUID set after KVM_RUN unless equal (before Linux 6.2 also in the bits
// it derives at run time, such as OSXSAVE): the same CPUID but for those is
// left as it is; another is refused naming the leaf.
TEST_F(KvmState, AMachineThatRanTakesItsStateBackAndNamesACpuidThatDiffers) {
    Serial serial;
    std::unique_ptr<Machine> m;
    Json state;
    ASSERT_NO_FATAL_FAILURE(BuildRunAndSave(serial, m, state));

    Status st = m->RestoreState(
        WithCpuid(state, 1, 0, [](kvm_cpuid_entry2& e) { e.ecx ^= 1u << 27; }));  // OSXSAVE
    EXPECT_TRUE(st.ok()) << st.message();
    st = m->RestoreState(
        WithCpuid(state, kHvmmCpuidLeaf, 0, [](kvm_cpuid_entry2& e) { e.ebx ^= 1; }));
    EXPECT_FALSE(st.ok());
    EXPECT_NE(st.message().find("leaf 0x40000100.0 ebx"), std::string::npos) << st.message();
}

TEST_F(KvmState, AnAdoptedMachineRefusesFdsItDoesNotTakeAndNamesOnesItLacks) {
    Serial serial;
    auto first = Build(serial);
    ASSERT_NE(first, nullptr);
    MachineConfig config = Config(serial, /*hvchan=*/false);
    // hvchan's memory is handed over, but this configuration has no hvchan.
    HandoverFds extra;
    for (const SharedFd& s : first->SharedFds()) {
        ASSERT_TRUE(extra.Add(s.name, UniqueFd(fcntl(s.fd, F_DUPFD_CLOEXEC, 0))).ok());
    }
    auto refused = AdoptMachine(config, extra);
    ASSERT_FALSE(refused.ok());
    EXPECT_NE(refused.status().message().find("\"hvchan.memory\", which no part"),
              std::string::npos)
        << refused.status().message();
    // No RAM at all.
    HandoverFds none;
    auto lacking = AdoptMachine(config, none);
    ASSERT_FALSE(lacking.ok());
    EXPECT_NE(lacking.status().message().find("lacks fd \"ram\""), std::string::npos)
        << lacking.status().message();
}

}  // namespace
}  // namespace hvkit::hvmm
