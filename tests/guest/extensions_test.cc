// The guest extensions' switch cut between its two renames (issue 13,
// item 3): previous is switched first, so a cut leaves current as it was
// and the version recovery switches to still on disk; calling Activate
// again (what Agent::Recover does with the version the host committed)
// finishes the switch, for an apply and for a rollback alike. Three
// releases, so that current and previous are both occupied.
#include <unistd.h>

#include "agent_world.h"

namespace hvkit::agent {
namespace {

using namespace test_world;

class ExtensionSwitchTest : public AgentTest {
  protected:
    void SetUp() override {
        AgentTest::SetUp();
        trust_ = std::make_unique<PackageTrustStore>(Trust());
        // Each staged just before its switch: a switch collects what neither
        // link names.
        for (const char* v : {"0.2.0", "0.3.0"}) {
            ASSERT_TRUE(extensions_->Stage(Package(v), *trust_, V(v)).ok()) << v;
            ASSERT_TRUE(extensions_->Activate(V(v)).ok()) << v;
        }
        // Staged after the switches, which collect what neither link names.
        ASSERT_TRUE(extensions_->Stage(Package("0.4.0"), *trust_, V("0.4.0")).ok());
    }
    // The first of Activate's two renames, as a cut switch leaves it.
    void CutAfterPreviousSwitched(const std::string& old_current) {
        ASSERT_TRUE(
            ReplaceSymlink(config_.extensions_dir + "/previous", "versions/" + old_current).ok());
    }
    std::string Previous() {
        auto p = extensions_->Previous();
        return p.ok() && *p ? **p : "";
    }
    std::unique_ptr<PackageTrustStore> trust_;
};

TEST_F(ExtensionSwitchTest, AnApplyCutBetweenTheRenamesIsFinishedByActivatingAgain) {
    CutAfterPreviousSwitched("0.3.0");
    EXPECT_EQ(GuestCurrent(), "0.3.0") << "a cut switch leaves current as it was";
    ASSERT_TRUE(extensions_->Activate(V("0.4.0")).ok());
    EXPECT_EQ(GuestCurrent(), "0.4.0");
    EXPECT_EQ(Previous(), "0.3.0");
    EXPECT_FALSE(extensions_->Staged(V("0.2.0"))) << "neither link names 0.2.0 any more";
}

TEST_F(ExtensionSwitchTest, ARollbackCutBetweenTheRenamesIsFinishedByActivatingAgain) {
    ASSERT_TRUE(extensions_->Activate(V("0.4.0")).ok());  // current 0.4.0, previous 0.3.0
    CutAfterPreviousSwitched("0.4.0");                    // RollBack's first rename
    EXPECT_EQ(GuestCurrent(), "0.4.0");
    ASSERT_TRUE(extensions_->Staged(V("0.3.0"))) << "the rollback's target is still on disk";
    ASSERT_TRUE(extensions_->Activate(V("0.3.0")).ok());
    EXPECT_EQ(GuestCurrent(), "0.3.0");
    EXPECT_EQ(Previous(), "0.4.0");
}

TEST_F(ExtensionSwitchTest, RollBackMakesPreviousCurrentAndCurrentPrevious) {
    ASSERT_TRUE(extensions_->RollBack().ok());
    EXPECT_EQ(GuestCurrent(), "0.2.0");
    EXPECT_EQ(Previous(), "0.3.0");
}

}  // namespace
}  // namespace hvkit::agent
