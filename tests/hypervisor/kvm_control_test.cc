// Pausing and controlling a real-mode payload on the local /dev/kvm: a guest
// that writes a port in a loop makes no progress while paused and continues
// after resume; the control socket drives a running machine; a stop while
// paused still stops it. Skipped without /dev/kvm. The only waits are
// polling deadlines, and "no progress while paused" is exact: Pause()
// returns only once every vCPU is parked.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <thread>

#include "control/control.h"
#include "hvmm.h"

namespace hvkit::hvmm {
namespace {

constexpr uint64_t kPayloadMemory = 0xa0000;
constexpr uint16_t kCounterPort = 0x510;

// mov dx, 0x510; again: out dx, al; inc al; jmp again
const std::vector<uint8_t> kCountForever = {0xba, 0x10, 0x05, 0xee, 0xfe, 0xc0, 0xeb, 0xfb};

// A port the payload writes in a loop: counts the writes.
class CounterPort final : public Device {
  public:
    std::string_view name() const override { return "counter"; }
    void Read(uint64_t, std::span<uint8_t> data) override {
        for (auto& b : data) b = 0;
    }
    void Write(uint64_t, std::span<const uint8_t>) override {
        uint64_t n = writes.fetch_add(1) + 1;
        if (on_write) on_write(n);
    }
    Json Save() const override { return Json::MakeObject(); }
    Status Restore(const Json&) override { return Status::Ok(); }
    void Reset() override {}
    std::atomic<uint64_t> writes{0};
    std::function<void(uint64_t)> on_write;  // set before Run()
};

int64_t NowMs() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return int64_t{ts.tv_sec} * 1000 + ts.tv_nsec / 1000000;
}

// Polls (pred) for up to 30 s.
template <typename Pred>
bool Eventually(Pred pred) {
    int64_t deadline = NowMs() + 30000;
    while (NowMs() < deadline) {
        if (pred()) return true;
        usleep(1000);
    }
    return pred();
}

class KvmControl : public ::testing::Test {
  protected:
    void SetUp() override {
        if (access("/dev/kvm", R_OK | W_OK) != 0) GTEST_SKIP() << "no usable /dev/kvm here";
        char tmpl[] = "/tmp/hvmm-kvmctl-XXXXXX";
        ASSERT_NE(mkdtemp(tmpl), nullptr);
        dir = tmpl;
        path = dir + "/c.sock";
    }
    void TearDown() override {
        if (runner.joinable()) {
            if (machine) machine->Stop("test teardown");
            runner.join();
        }
        if (!dir.empty()) {
            unlink(path.c_str());
            rmdir(dir.c_str());
        }
    }
    void Build(uint32_t cpus = 1) {
        MachineConfig config;
        config.memory_bytes = kPayloadMemory;
        config.cpus = cpus;
        config.real_mode_payload = kCountForever;
        config.serial_sink = [](std::span<const uint8_t>) {};
        auto m = BuildMachine(config);
        ASSERT_TRUE(m.ok()) << m.status().message();
        machine = std::move(m).value();
        ASSERT_TRUE(machine->pio().Insert(kCounterPort, 1, counter).ok());
    }
    void StartRunning() {
        runner = std::thread([this] { reason = machine->Run(); });
    }
    StopReason Join() {
        runner.join();
        return reason.load();
    }
    // No write may land while paused: waits a while and compares.
    void ExpectNoProgress() {
        uint64_t before = counter->writes.load();
        usleep(200 * 1000);
        EXPECT_EQ(counter->writes.load(), before) << "the guest ran while paused";
    }
    bool Progresses() {
        uint64_t from = counter->writes.load();
        return Eventually([&] { return counter->writes.load() > from + 10; });
    }

    std::string dir, path;
    std::shared_ptr<CounterPort> counter = std::make_shared<CounterPort>();
    std::unique_ptr<Machine> machine;
    std::thread runner;
    std::atomic<StopReason> reason{StopReason::kNone};
};

TEST_F(KvmControl, PauseStopsTheGuestAndResumeContinuesIt) {
    Build();
    StartRunning();
    ASSERT_TRUE(Progresses());
    ASSERT_TRUE(machine->Pause().ok());
    EXPECT_TRUE(machine->paused());
    ExpectNoProgress();
    ASSERT_TRUE(machine->Pause().ok());  // idempotent
    ExpectNoProgress();
    machine->Resume();
    EXPECT_FALSE(machine->paused());
    EXPECT_TRUE(Progresses());
    machine->Resume();  // idempotent
    EXPECT_TRUE(Progresses());
    machine->Stop();
    EXPECT_EQ(Join(), StopReason::kHostRequest);
}

TEST_F(KvmControl, AStopWhilePausedStopsTheMachine) {
    Build(2);  // the AP waits for SIPI inside KVM_RUN: the kick must park it too
    StartRunning();
    ASSERT_TRUE(Progresses());
    ASSERT_TRUE(machine->Pause().ok());
    machine->Stop("stopped while paused");
    EXPECT_EQ(Join(), StopReason::kHostRequest);
    EXPECT_EQ(machine->control().detail(), "stopped while paused");
    auto again = machine->Pause();
    EXPECT_FALSE(again.ok());
    EXPECT_NE(again.message().find("the VM is stopping"), std::string::npos);
}

TEST_F(KvmControl, AMachinePausedBeforeRunStartsParked) {
    Build();
    ASSERT_TRUE(machine->Pause().ok());
    StartRunning();
    ExpectNoProgress();
    EXPECT_EQ(counter->writes.load(), 0u);
    machine->Resume();
    EXPECT_TRUE(Progresses());
    machine->Stop();
    EXPECT_EQ(Join(), StopReason::kHostRequest);
}

TEST_F(KvmControl, PauseFromTheVcpuThreadDoesNotDeadlock) {
    Build();
    Machine* m = machine.get();
    std::atomic<bool> paused_from_vcpu{false};
    counter->on_write = [&, m](uint64_t n) {
        if (n == 100) paused_from_vcpu = m->Pause().ok();
    };
    StartRunning();
    ASSERT_TRUE(Eventually([&] { return paused_from_vcpu.load(); }));
    // The caller parks once its exit is handled: the count stays at 100.
    EXPECT_EQ(counter->writes.load(), 100u);
    ExpectNoProgress();
    machine->Resume();
    EXPECT_TRUE(Progresses());
    machine->Stop();
    EXPECT_EQ(Join(), StopReason::kHostRequest);
}

Json Request(const std::string& path, std::string_view cmd) {
    auto response = SendControlRequest(path, ControlRequestFor(cmd));
    EXPECT_TRUE(response.ok()) << response.status().message();
    if (!response.ok()) return Json();
    auto j = ParseJson(*response, "response");
    EXPECT_TRUE(j.ok()) << *response;
    return j.ok() ? *j : Json();
}

bool Ok(const Json& r) {
    return r.Find("ok") != nullptr && r.Find("ok")->is_bool() && r.Find("ok")->as_bool();
}

TEST_F(KvmControl, TheControlSocketPausesResumesAndShutsDownAMachine) {
    Build();
    MachineControlTarget target(*machine, "9.8.7");
    auto server = ControlServer::Start(path, target, machine->control().eventfd());
    ASSERT_TRUE(server.ok()) << server.status().message();
    StartRunning();
    ASSERT_TRUE(Progresses());

    Json status = Request(path, "status");
    ASSERT_TRUE(Ok(status));
    EXPECT_EQ(status.Find("state")->as_string(), "running");
    EXPECT_EQ(status.Find("vcpus")->as_int(), 1);
    EXPECT_EQ(status.Find("memory_bytes")->as_int(), static_cast<int64_t>(kPayloadMemory));
    EXPECT_EQ(status.Find("version")->as_string(), "9.8.7");
    EXPECT_TRUE(status.Find("uptime_s")->is_int());
    bool has_serial = false;
    for (const auto& d : status.Find("devices")->as_array())
        has_serial |= d.as_string() == "serial";
    EXPECT_TRUE(has_serial);

    EXPECT_TRUE(Ok(Request(path, "pause")));
    EXPECT_EQ(Request(path, "status").Find("state")->as_string(), "paused");
    ExpectNoProgress();
    EXPECT_TRUE(Ok(Request(path, "resume")));
    EXPECT_EQ(Request(path, "status").Find("state")->as_string(), "running");
    EXPECT_TRUE(Progresses());

    EXPECT_TRUE(Ok(Request(path, "pause")));  // shutdown works on a paused machine
    EXPECT_TRUE(Ok(Request(path, "shutdown")));
    EXPECT_EQ(Join(), StopReason::kHostRequest);
    EXPECT_NE(machine->control().detail().find("control socket"), std::string::npos);
    server->reset();
    EXPECT_NE(access(path.c_str(), F_OK), 0);
}

TEST_F(KvmControl, GarbageAndAnAbruptDisconnectLeaveOtherClientsServed) {
    Build();
    MachineControlTarget target(*machine, "9.8.7");
    auto server = ControlServer::Start(path, target, machine->control().eventfd());
    ASSERT_TRUE(server.ok()) << server.status().message();
    StartRunning();
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    memcpy(addr.sun_path, path.data(), path.size());
    for (int round = 0; round < 3; ++round) {
        {
            UniqueFd rude(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
            ASSERT_EQ(connect(rude.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr),
                      0);
            std::string junk = "\x01\x02{\"cmd\":\"pause\"\n{\"cmd\":\"shutdown";  // no newline
            ASSERT_GT(send(rude.get(), junk.data(), junk.size(), MSG_NOSIGNAL), 0);
        }  // gone mid-line
        auto garbage = SendControlRequest(path, "{{{{");
        ASSERT_TRUE(garbage.ok());
        EXPECT_NE(garbage->find("not valid JSON"), std::string::npos) << *garbage;
        Json status = Request(path, "status");
        ASSERT_TRUE(Ok(status));
        EXPECT_EQ(status.Find("state")->as_string(), "running");
    }
    EXPECT_TRUE(Progresses());  // nothing paused or stopped the guest
    EXPECT_FALSE(machine->control().stop_requested());
    EXPECT_TRUE(Ok(Request(path, "shutdown")));
    EXPECT_EQ(Join(), StopReason::kHostRequest);
}

}  // namespace
}  // namespace hvkit::hvmm
