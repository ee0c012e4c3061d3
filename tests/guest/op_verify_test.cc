// op_verify: the guest's trust store decides before anything goes to the
// hypervisor; the package must be the version the repository named.
#include "agent_world.h"

namespace hvkit::agent {
namespace {

using namespace test_world;

using VerifyOpTest = AgentTest;

TEST_F(VerifyOpTest, ATrustedPackageYieldsTheSignedManifest) {
    ApplyWorld& w = World();
    ApplyTransaction t = BeginApply("0.2.0");
    ASSERT_TRUE(DownloadOp(w, t).ok());
    ASSERT_TRUE(VerifyOp(w, t).ok());
    EXPECT_NE(t.manifest.find("\"signatures\""), std::string::npos) << t.manifest;
    EXPECT_NE(t.manifest.find("0.2.0"), std::string::npos);
}

TEST_F(VerifyOpTest, APackageFromAnUnknownKeyIsRefused) {
    source_.packages["0.4.0"] = Package("0.4.0", &stranger_);
    ApplyWorld& w = World();
    ApplyTransaction t = BeginApply("0.4.0");
    ASSERT_TRUE(DownloadOp(w, t).ok());
    EXPECT_EQ(VerifyOp(w, t).code(), ErrorCode::kBadSignature);
    EXPECT_TRUE(t.manifest.empty()) << "nothing to hand to the hypervisor";
}

TEST_F(VerifyOpTest, APackageOfAnotherVersionThanNamedIsAConflict) {
    source_.packages["0.2.0"] = Package("0.3.0");  // the repository lies about it
    ApplyWorld& w = World();
    ApplyTransaction t = BeginApply("0.2.0");
    ASSERT_TRUE(DownloadOp(w, t).ok());
    Status st = VerifyOp(w, t);
    EXPECT_EQ(st.code(), ErrorCode::kConflict);
    EXPECT_NE(st.message().find("is version 0.3.0"), std::string::npos) << st.message();
}

}  // namespace
}  // namespace hvkit::agent
