// The hvfilt device without KVM: its config space (64-bit prefetchable BAR0,
// BAR2, INTx pin), registers, the doorbell ioeventfd and INTx irqfd following
// the config space through a fake wiring, the PCI 2.3 interrupt status bit
// uio_pci_generic relies on, save/restore/reset, and filter-attach over a real
// control socket (3 fds; the memfd's size, seals and shared pages).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>

#include "arch/x86_64/layout.h"
#include "control/control.h"
#include "fake_control_target.h"
#include "hvfilt/hvfilt.h"
#include "hvkit/filter_ring_abi.h"

namespace hvkit::hvmm {
namespace {

constexpr uint64_t kRegion = 2u << 20;
constexpr uint32_t kRegionBar = 0xc8200000;
constexpr uint32_t kRegisterBar = 0xc8001000;

// Records what the device registers with "KVM".
struct FakeWiring {
    uint64_t doorbell_gpa = 0;  // 0: no ioeventfd
    bool irqfd = false;
    int resample_fd = -1;
    int ioeventfd_calls = 0;
    KvmEventfdWiring Wiring() {
        return {
            .ioeventfd =
                [this](int, uint64_t gpa, uint32_t len, bool assign) {
                    ++ioeventfd_calls;
                    EXPECT_EQ(len, 4u);
                    if (assign) {
                        EXPECT_EQ(doorbell_gpa, 0u) << "assigned twice";
                        doorbell_gpa = gpa;
                    } else {
                        EXPECT_EQ(doorbell_gpa, gpa) << "removed where it was not";
                        doorbell_gpa = 0;
                    }
                    return Status::Ok();
                },
            .irqfd =
                [this](int, uint32_t gsi, int resample, bool assign) {
                    EXPECT_EQ(gsi, layout::kIrqHvfilt);
                    EXPECT_NE(irqfd, assign) << "irqfd state set twice";
                    irqfd = assign;
                    if (assign) resample_fd = resample;
                    return Status::Ok();
                },
        };
    }
    // What KVM does when the guest EOIs the interrupt.
    void GuestEoi() const {
        uint64_t one = 1;
        ASSERT_EQ(write(resample_fd, &one, sizeof one), 8);
    }
};

class Hvfilt : public ::testing::Test {
  protected:
    void SetUp() override {
        auto d = HvfiltDevice::Create(kRegion, kRegionBar, kRegisterBar, wiring.Wiring());
        ASSERT_TRUE(d.ok()) << d.status().message();
        dev = *d;
    }
    uint32_t Reg(uint64_t offset) {
        uint32_t v = 0;
        dev->BarRead(HVFILT_REGISTER_BAR, offset, {reinterpret_cast<uint8_t*>(&v), 4});
        return v;
    }
    bool StatusInterrupt() { return dev->ConfigRead(pci::kStatus, 2) & pci::kStatusInterrupt; }
    void SetCommand(uint16_t command) { dev->ConfigWrite(pci::kCommand, 2, command); }
    FakeWiring wiring;
    std::shared_ptr<HvfiltDevice> dev;
};

TEST_F(Hvfilt, ConfigSpaceDeclaresTheBarsAndIntxPinA) {
    EXPECT_EQ(dev->ConfigRead(0, 4), (HVFILT_PCI_DEVICE_ID << 16) | HVFILT_PCI_VENDOR_ID);
    EXPECT_EQ(dev->ConfigRead(pci::kBar0, 4), kRegionBar | 0xc) << "64-bit prefetchable";
    EXPECT_EQ(dev->ConfigRead(pci::kBar0 + 4, 4), 0u);
    EXPECT_EQ(dev->ConfigRead(pci::kBar0 + 8, 4), kRegisterBar);
    EXPECT_EQ(dev->ConfigRead(pci::kInterruptPin, 1), 1u);
    EXPECT_EQ(dev->ConfigRead(pci::kInterruptLine, 1), HVFILT_PCI_IRQ);
    // Sizing: all-ones reads back the size mask with the type bits.
    dev->ConfigWrite(pci::kBar0, 4, 0xffffffff);
    dev->ConfigWrite(pci::kBar0 + 4, 4, 0xffffffff);
    EXPECT_EQ(dev->ConfigRead(pci::kBar0, 4), ~uint32_t{kRegion - 1} | 0xc);
    EXPECT_EQ(dev->ConfigRead(pci::kBar0 + 4, 4), 0xffffffffu);
    EXPECT_EQ(dev->ConfigSnapshot().bar_address(0), 0xffffffff00000000ull | ~uint32_t{kRegion - 1});
    EXPECT_EQ(dev->ConfigSnapshot().bar_size(1), 0u) << "BAR1 is BAR0's high half";
    EXPECT_EQ(dev->BarMemory(HVFILT_REGION_BAR).size(), kRegion);
    EXPECT_TRUE(dev->BarMemory(HVFILT_REGISTER_BAR).empty());
}

TEST_F(Hvfilt, RegistersReportSizeAbiAndMagic) {
    EXPECT_EQ(Reg(HVFILT_REG_REGION_SIZE_LO), kRegion);
    EXPECT_EQ(Reg(HVFILT_REG_REGION_SIZE_HI), 0u);
    EXPECT_EQ(Reg(HVFILT_REG_ABI_VERSION), HVFILTER_ABI_MAJOR << 16 | HVFILTER_ABI_MINOR);
    EXPECT_EQ(Reg(HVFILT_REG_MAGIC), HVFILT_MAGIC);
    EXPECT_EQ(Reg(0x800), 0xffffffffu);
    EXPECT_EQ(dev->counters().bad_register_accesses, 1u);
}

TEST_F(Hvfilt, RegionSizesOutsideTheBoundsAreRefused) {
    EXPECT_TRUE(CheckFilterRegionSize(64 << 10).ok());
    EXPECT_TRUE(CheckFilterRegionSize(128 << 20).ok());
    for (uint64_t bad : {uint64_t{0}, uint64_t{32} << 10, uint64_t{3} << 20, uint64_t{256} << 20}) {
        Status st = CheckFilterRegionSize(bad);
        EXPECT_FALSE(st.ok()) << bad;
        EXPECT_NE(st.message().find("power of two from 64K to 128M"), std::string::npos);
    }
}

TEST_F(Hvfilt, DoorbellIoeventfdFollowsBar2AndMemoryDecoding) {
    EXPECT_EQ(wiring.doorbell_gpa, kRegisterBar + HVFILT_REG_DOORBELL) << "on from power-on";
    SetCommand(0);  // decoding off
    EXPECT_EQ(wiring.doorbell_gpa, 0u);
    dev->ConfigWrite(pci::kBar0 + 8, 4, 0xc9000000);  // moved while off
    EXPECT_EQ(wiring.doorbell_gpa, 0u);
    SetCommand(pci::kCommandMemory);
    EXPECT_EQ(wiring.doorbell_gpa, 0xc9000000u);
    dev->ConfigWrite(pci::kBar0 + 8, 4, 0x10000000);  // outside the window: no doorbell
    EXPECT_EQ(wiring.doorbell_gpa, 0u);
}

TEST_F(Hvfilt, ADoorbellWriteThatReachesHvmmStillKicks) {
    auto a = dev->Attach();
    ASSERT_TRUE(a.ok());
    uint32_t v = 7;
    dev->BarWrite(HVFILT_REGISTER_BAR, HVFILT_REG_DOORBELL, {reinterpret_cast<uint8_t*>(&v), 4});
    uint64_t count = 0;
    ASSERT_EQ(read(a->fds[1].get(), &count, sizeof count), 8);
    EXPECT_EQ(count, 1u);
    EXPECT_EQ(dev->counters().doorbell_exits, 1u);
}

TEST_F(Hvfilt, InterruptStatusLatchesWhenTheGuestTakesItUntilIntxIsReenabled) {
    ASSERT_TRUE(wiring.irqfd) << "INTx enabled at power-on: irqfd registered";
    EXPECT_FALSE(StatusInterrupt());
    wiring.GuestEoi();  // hvfilterd wrote the eventfd; KVM delivered it; the guest EOIed
    EXPECT_TRUE(StatusInterrupt()) << "uio_pci_generic's handler must see it as ours";
    EXPECT_TRUE(dev->ConfigRead(pci::kCommand, 4) & (uint32_t{pci::kStatusInterrupt} << 16))
        << "a dword read of command+status sees it too";
    SetCommand(pci::kCommandMemory | pci::kCommandIntxDisable);  // the handler masks
    EXPECT_FALSE(wiring.irqfd);
    EXPECT_TRUE(StatusInterrupt()) << "masking does not clear the status";
    SetCommand(pci::kCommandMemory);  // user space re-enables: the acknowledgement
    EXPECT_TRUE(wiring.irqfd);
    EXPECT_FALSE(StatusInterrupt());
}

TEST_F(Hvfilt, AnInterruptRaisedWhileMaskedShowsInStatusAndStaysForKvm) {
    auto a = dev->Attach();
    ASSERT_TRUE(a.ok());
    SetCommand(pci::kCommandMemory | pci::kCommandIntxDisable);
    EXPECT_FALSE(StatusInterrupt());
    uint64_t one = 1;
    ASSERT_EQ(write(a->fds[2].get(), &one, sizeof one), 8);  // hvfilterd interrupts
    EXPECT_TRUE(StatusInterrupt());
    EXPECT_TRUE(StatusInterrupt()) << "reading the status does not consume the count";
    SetCommand(pci::kCommandMemory);
    EXPECT_TRUE(wiring.irqfd) << "KVM delivers the count on registration";
    uint64_t count = 0;
    EXPECT_EQ(read(a->fds[2].get(), &count, sizeof count), 8) << "hvmm did not consume it";
}

TEST_F(Hvfilt, SaveRestoreAndReset) {
    dev->ConfigWrite(pci::kBar0 + 8, 4, 0xc9000000);
    SetCommand(pci::kCommandMemory | pci::kCommandIntxDisable);
    wiring.GuestEoi();
    ASSERT_TRUE(StatusInterrupt());
    Json saved = dev->Save();

    FakeWiring other;
    auto d2 = HvfiltDevice::Create(kRegion, kRegionBar, kRegisterBar, other.Wiring());
    ASSERT_TRUE(d2.ok());
    ASSERT_TRUE((*d2)->Restore(saved).ok());
    EXPECT_EQ(other.doorbell_gpa, 0xc9000000u) << "the doorbell follows the restored BAR";
    EXPECT_FALSE(other.irqfd) << "INTx stays disabled";
    EXPECT_TRUE((*d2)->ConfigRead(pci::kStatus, 2) & pci::kStatusInterrupt);

    Json bad = saved;
    bad["interrupt_latched"] = Json(3);
    EXPECT_FALSE((*d2)->Restore(bad).ok());

    dev->Reset();
    EXPECT_EQ(wiring.doorbell_gpa, kRegisterBar);
    EXPECT_TRUE(wiring.irqfd);
    EXPECT_FALSE(StatusInterrupt());
}

// filter-attach over a real control socket, answered by a real device.
TEST_F(Hvfilt, AttachOverTheControlSocketPassesTheRegionAndEventfds) {
    char tmpl[] = "/tmp/hvmm-filt-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    std::string path = std::string(tmpl) + "/c.sock";
    testing::FakeTarget target;
    target.attach = [this] { return dev->Attach(); };
    {
        auto server = ControlServer::Start(path, target, -1);
        ASSERT_TRUE(server.ok()) << server.status().message();
        ino_t first_inode = 0;
        for (int attach = 0; attach < 2; ++attach) {  // hvfilterd restarts: same region
            std::vector<UniqueFd> fds;
            auto response = SendControlRequest(path, R"({"cmd":"filter-attach"})", 10000, &fds);
            ASSERT_TRUE(response.ok()) << response.status().message();
            auto r = ParseJson(*response, "response");
            ASSERT_TRUE(r.ok());
            EXPECT_TRUE(r->Find("ok")->as_bool()) << *response;
            EXPECT_EQ(r->Find("region_size")->as_int(), static_cast<int64_t>(kRegion));
            ASSERT_EQ(fds.size(), 3u) << "region memfd, doorbell, interrupt";

            struct stat st {};
            ASSERT_EQ(fstat(fds[0].get(), &st), 0);
            EXPECT_EQ(static_cast<uint64_t>(st.st_size), kRegion);
            if (attach == 0) first_inode = st.st_ino;
            EXPECT_EQ(st.st_ino, first_inode) << "every attach gets the same region";
            int seals = fcntl(fds[0].get(), F_GET_SEALS);
            EXPECT_EQ(seals & (F_SEAL_SHRINK | F_SEAL_GROW), F_SEAL_SHRINK | F_SEAL_GROW);
            EXPECT_NE(ftruncate(fds[0].get(), 4096), 0) << "sealed against shrinking";

            // The client's mapping and hvmm's (the guest's BAR0) are one memory.
            void* p = mmap(nullptr, kRegion, PROT_READ | PROT_WRITE, MAP_SHARED, fds[0].get(), 0);
            ASSERT_NE(p, MAP_FAILED);
            static_cast<uint8_t*>(p)[kRegion - 1] = static_cast<uint8_t>(0xa0 + attach);
            EXPECT_EQ(dev->BarMemory(HVFILT_REGION_BAR)[kRegion - 1], 0xa0 + attach);
            dev->BarMemory(HVFILT_REGION_BAR)[0] = 0x5c;
            EXPECT_EQ(static_cast<uint8_t*>(p)[0], 0x5c);
            munmap(p, kRegion);

            // The doorbell fd is the device's: a kick that reaches hvmm lands in it.
            uint32_t v = 1;
            dev->BarWrite(HVFILT_REGISTER_BAR, HVFILT_REG_DOORBELL,
                          {reinterpret_cast<uint8_t*>(&v), 4});
            uint64_t count = 0;
            EXPECT_EQ(read(fds[1].get(), &count, sizeof count), 8);
        }
        // Without filter rings the same request is refused and carries no fds.
        target.attach = nullptr;
        std::vector<UniqueFd> fds;
        auto response = SendControlRequest(path, R"({"cmd":"filter-attach"})", 10000, &fds);
        ASSERT_TRUE(response.ok());
        EXPECT_NE(response->find("no filter rings"), std::string::npos) << *response;
        EXPECT_TRUE(fds.empty());
    }
    rmdir(tmpl);
}

}  // namespace
}  // namespace hvkit::hvmm
