// The guest extension store under the fault file system: installing a
// release (Stage, then Activate) with the power cut at every call, and with
// ENOSPC or EIO at every call. `current` always names a version whose files
// are all there, the old one or the new one, and the new one whenever the
// install reported success; `previous` names a whole version too.
#include <gtest/gtest.h>

#include <filesystem>

#include "fault_loop.h"
#include "hvkit/agent/extensions.h"
#include "release_fixture.h"

namespace hvkit::agent {
namespace {

using hvmm::testing::V;

class ExtensionStorePowerTest : public hvmm::testing::ReleaseFixture {
  protected:
    void SetUp() override {
        ReleaseFixture::SetUp();
        trust_ = std::make_unique<PackageTrustStore>(
            *PackageTrustStore::Load(store_dir() + "/trust.json"));
        next_ = Package("0.3.0");
        ASSERT_TRUE(MakeDirectories(dir()).ok());
        ExtensionStore store(dir());
        ASSERT_TRUE(store.Stage(Package("0.2.0"), *trust_, V("0.2.0")).ok());
        ASSERT_TRUE(store.Activate(V("0.2.0")).ok());
        std::filesystem::copy(dir(), tmp_.Sub("template"),
                              std::filesystem::copy_options::recursive |
                                  std::filesystem::copy_options::copy_symlinks);
        ASSERT_TRUE(MakeDirectories(tmp_.Sub("empty")).ok());
    }
    std::string dir() const { return tmp_.Sub("ext"); }

    // The version (link) names, after checking that its files are all there.
    std::string WholeVersion(const std::string& link) {
        auto target = ReadSymlink(dir() + "/" + link);
        if (!target.ok() || !*target) return "(none)";
        std::string agent = dir() + "/" + **target + "/guest/bin/agent";
        auto text = ReadFile(agent, 1024);
        EXPECT_TRUE(text.ok() && *text == "guest part\n")
            << link << " -> " << **target << " is not whole: " << agent;
        return (*target)->substr(std::string("versions/").size());
    }

    // Installs 0.3.0 over 0.2.0, or into an empty store when (first).
    hvkit::testing::FaultScenario Install(bool first = false) {
        hvkit::testing::FaultScenario s;
        s.root = dir();
        s.setup = [this, first] {
            ASSERT_TRUE(RemoveTree(dir()).ok());
            std::filesystem::copy(tmp_.Sub(first ? "empty" : "template"), dir(),
                                  std::filesystem::copy_options::recursive |
                                      std::filesystem::copy_options::copy_symlinks);
        };
        s.operation = [this](FileSystem& fs) -> Status {
            ExtensionStore store(dir(), fs);
            HVKIT_RETURN_IF_ERROR(store.Stage(next_, *trust_, V("0.3.0")));
            return store.Activate(V("0.3.0"));
        };
        s.check = [this, first](bool done) {
            std::string current = WholeVersion("current");
            std::string before = first ? "(none)" : "0.2.0";
            if (done) {
                EXPECT_EQ(current, "0.3.0") << "reported installed, lost at the power cut";
                EXPECT_EQ(WholeVersion("previous"), first ? "(none)" : "0.2.0");
            } else {
                EXPECT_TRUE(current == before || current == "0.3.0") << current;
                WholeVersion("previous");
            }
            // What the agent's recovery does once the host has committed.
            ExtensionStore store(dir());
            Status again = store.Activate(V("0.3.0"));
            if (store.Staged(V("0.3.0"))) {
                EXPECT_TRUE(again.ok()) << again.message();
                EXPECT_EQ(WholeVersion("current"), "0.3.0");
            }
        };
        return s;
    }

    std::unique_ptr<PackageTrustStore> trust_;
    std::string next_;
};

TEST_F(ExtensionStorePowerTest, APowerCutAtAnyCallOfAnInstallLeavesAWholeCurrentVersion) {
    EXPECT_GT(hvkit::testing::CutPowerAtEveryCall(Install()), 15);
}

TEST_F(ExtensionStorePowerTest, APowerCutAtAnyCallOfAFirstInstallKeepsWhatItReported) {
    EXPECT_GT(hvkit::testing::CutPowerAtEveryCall(Install(/*first=*/true)), 15);
}

TEST_F(ExtensionStorePowerTest, ENOSPCOrEIOAtAnyCallOfAnInstallIsAnErrorAndLosesNothing) {
    hvkit::testing::FailEveryCall(Install(), ENOSPC);
    hvkit::testing::FailEveryCall(Install(), EIO);
}

}  // namespace
}  // namespace hvkit::agent
