// The guest loses power in the middle of `hvupdate apply`: the agent's
// journal, its extension store and its download all go through the fault
// file system, cut at every call in turn, while the host (hvmm's real
// update service and release store, on the real disk) lives on. After the
// cut the next agent's Recover must leave host and guest at the same
// version, the new one whenever the apply had reported success, and a new
// apply must then complete.
#include <gtest/gtest.h>

#include <filesystem>

#include "agent_world.h"
#include "fault_loop.h"

namespace hvkit::agent {
namespace {

using namespace test_world;

constexpr auto kCopy =
    std::filesystem::copy_options::recursive | std::filesystem::copy_options::copy_symlinks;

class AgentPowerTest : public AgentTest {
  protected:
    void SetUp() override {
        AgentTest::SetUp();
        journal_.reset();
        config_.state_dir = guest() + "/state";
        config_.extensions_dir = guest() + "/ext";
        ASSERT_TRUE(MakeDirectories(config_.state_dir).ok());
        ASSERT_TRUE(MakeDirectories(config_.extensions_dir).ok());
        ASSERT_TRUE(Journal::Open(config_.state_dir + "/agent.sqlite").ok());
        service_.reset();  // closes the release store
        std::filesystem::copy(store_dir(), tmp_.Sub("host-template"), kCopy);
        std::filesystem::copy(guest(), tmp_.Sub("guest-template"), kCopy);
    }
    std::string guest() const { return tmp_.Sub("guest"); }

    // Host and guest as before the apply; the host's service opened afresh.
    void Restore() {
        host_.reset();
        service_.reset();
        journal_.reset();
        extensions_.reset();
        for (auto [dir, from] : {std::pair{store_dir(), tmp_.Sub("host-template")},
                                 std::pair{guest(), tmp_.Sub("guest-template")}}) {
            ASSERT_TRUE(RemoveTree(dir).ok());
            std::filesystem::copy(from, dir, kCopy);
        }
        hvmm::ReleaseStoreOptions options;
        options.running_version = V("0.1.0");
        auto store = hvmm::ReleaseStore::Open(store_dir(), options);
        ASSERT_TRUE(store.ok()) << store.status().message();
        service_ = std::make_unique<hvmm::UpdateService>(std::move(*store), clock_);
        host_ = std::make_unique<LoopbackHost>(*service_);
    }

    // The guest's side opened on (fs).
    Status OpenGuest(FileSystem& fs) {
        HVKIT_ASSIGN_OR_RETURN(journal_, Journal::Open(config_.state_dir + "/agent.sqlite", fs));
        extensions_ = std::make_unique<ExtensionStore>(config_.extensions_dir, fs);
        source_.file_system = &fs;
        return Status::Ok();
    }
    // Closes the guest's side, as a power cut or an exit does.
    void CloseGuest() {
        journal_.reset();
        extensions_.reset();
        source_.file_system = &RealFileSystem();
    }
};

TEST_F(AgentPowerTest, APowerCutAtAnyCallOfAnApplyIsRecoveredToOneVersionOnBothSides) {
    hvkit::testing::FaultScenario s;
    s.root = guest();
    s.setup = [this] { Restore(); };
    s.operation = [this](FileSystem& fs) -> Status {
        Status st = OpenGuest(fs);
        if (st.ok()) st = MakeAgent().Apply(V("0.2.0")).status();
        CloseGuest();
        return st;
    };
    s.check = [this](bool done) {
        ASSERT_TRUE(OpenGuest(RealFileSystem()).ok());
        // The dead agent's host session would have expired by now.
        clock_.Advance(std::chrono::seconds(HVCHAN_UPDATE_SESSION_TIMEOUT_S));
        {
            Agent next = MakeAgent();
            auto recovered = next.Recover();
            ASSERT_TRUE(recovered.ok()) << recovered.status().message();
            EXPECT_EQ(GuestCurrent(), HostCommitted()) << "host and guest disagree after recovery";
            if (done) {
                EXPECT_EQ(HostCommitted(), "0.2.0") << "reported applied, lost at the power cut";
            }
            EXPECT_FALSE(journal_->Pending()->has_value());
            auto again = next.Apply(std::nullopt);
            ASSERT_TRUE(again.ok()) << again.status().message();
            EXPECT_EQ(HostCommitted(), "0.3.0");
            EXPECT_EQ(GuestCurrent(), "0.3.0");
        }
        CloseGuest();
    };
    EXPECT_GT(hvkit::testing::CutPowerAtEveryCall(s), 20);
}

}  // namespace
}  // namespace hvkit::agent
