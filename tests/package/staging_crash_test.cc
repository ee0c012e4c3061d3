// Extraction (StagingTree) under the fault file system: the power cut at
// every call and ENOSPC or EIO at every call. The destination appears
// whole, with every file's bytes and mode, or not at all; and whole
// whenever the extraction said it was done.
#include <gtest/gtest.h>

#include "fault_loop.h"
#include "hvkit/fs.h"
#include "hvkit/package/extract.h"
#include "package_fixture.h"
#include "temp_dir.h"

namespace hvkit::testing {
namespace {

class StagingCrashTest : public ::testing::Test {
  protected:
    void SetUp() override {
        package_ = tmp_.Sub("demo.hvpkg");
        WriteTestFile(package_, fixture_.Package({{.path = "hypervisor/bin/hvmm",
                                                   .content = std::string(5000, 'h'),
                                                   .component = Component::kHypervisor,
                                                   .mode = 0755},
                                                  {.path = "hypervisor/share/doc/README",
                                                   .content = "read me\n",
                                                   .component = Component::kHypervisor},
                                                  {.path = "config/hvkit.json",
                                                   .content = "{}\n",
                                                   .component = Component::kConfig,
                                                   .mode = 0600}}));
        // What a whole extraction leaves, made without faults.
        auto info = ExtractPackageFile(package_, fixture_.trust, tmp_.Sub("reference"));
        ASSERT_TRUE(info.ok()) << info.status().message();
        whole_ = TreeListing(tmp_.Sub("reference"));
    }

    FaultScenario Scenario() {
        FaultScenario s;
        s.root = tmp_.Sub("root");
        s.setup = [this] {
            ASSERT_TRUE(RemoveTree(tmp_.Sub("root")).ok());
            ASSERT_TRUE(MakeDirectories(tmp_.Sub("root")).ok());
        };
        s.operation = [this](FileSystem& fs) {
            ExtractOptions options;
            options.file_system = &fs;
            return ExtractPackageFile(package_, fixture_.trust, dest(), options).status();
        };
        s.check = [this](bool done) {
            if (done || PathExists(dest())) {
                EXPECT_EQ(TreeListing(dest()), whole_)
                    << (done ? "reported extracted, not whole after the power cut"
                             : "the destination appeared, but not whole");
            }
        };
        return s;
    }
    std::string dest() const { return tmp_.Sub("root/release"); }

    TempDir tmp_;
    PackageFixture fixture_;
    std::string package_;
    std::string whole_;
};

TEST_F(StagingCrashTest, APowerCutAtAnyCallLeavesTheDestinationWholeOrAbsent) {
    EXPECT_GT(CutPowerAtEveryCall(Scenario()), 15);
}

TEST_F(StagingCrashTest, ENOSPCOrEIOAtAnyCallIsAnErrorAndLeavesNothingHalfDone) {
    FailEveryCall(Scenario(), ENOSPC);
    FailEveryCall(Scenario(), EIO);
}

}  // namespace
}  // namespace hvkit::testing
