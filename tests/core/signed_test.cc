#include "hvkit/signed.h"

#include <gtest/gtest.h>

namespace hvkit {
namespace {

struct Signers {
    std::vector<PrivateKey> keys;
    KeyRing ring;
    std::vector<std::string> ids;
    explicit Signers(int n) {
        for (int i = 0; i < n; ++i) {
            keys.push_back(PrivateKey::Generate().value());
            ring.emplace(keys.back().KeyId(), keys.back().public_key());
            ids.push_back(keys.back().KeyId());
        }
    }
};

SignedEnvelope Body() {
    SignedEnvelope env;
    env.signed_body["_type"] = "test";
    env.signed_body["version"] = 3;
    return env;
}

TEST(Threshold, MetWithDistinctKeys) {
    Signers s(3);
    SignedEnvelope env = Body();
    ASSERT_TRUE(env.Sign(s.keys[0]).ok());
    ASSERT_TRUE(env.Sign(s.keys[2]).ok());
    EXPECT_TRUE(VerifyThreshold(env, s.ring, s.ids, 2, "test").ok());
    Status st = VerifyThreshold(env, s.ring, s.ids, 3, "test");
    EXPECT_EQ(st.code(), ErrorCode::kBadSignature);
    EXPECT_EQ(st.message(), "test: 2 valid signature(s) from authorised keys, threshold is 3");
}

TEST(Threshold, DuplicateSignaturesCountOnce) {
    Signers s(2);
    SignedEnvelope env = Body();
    ASSERT_TRUE(env.Sign(s.keys[0]).ok());
    env.signatures.push_back(env.signatures[0]);
    EXPECT_FALSE(VerifyThreshold(env, s.ring, s.ids, 2, "test").ok());
}

TEST(Threshold, OneKeyUnderTwoKeyIdsCountsOnce) {
    Signers s(1);
    SignedEnvelope env = Body();
    ASSERT_TRUE(env.Sign(s.keys[0]).ok());
    s.ring.emplace("alias", s.keys[0].public_key());
    env.signatures.push_back({"alias", env.signatures[0].sig_hex});
    Status st = VerifyThreshold(env, s.ring, {s.ids[0], "alias"}, 2, "test");
    EXPECT_EQ(st.message(), "test: 1 valid signature(s) from authorised keys, threshold is 2");
}

TEST(Threshold, UnauthorisedKeysDoNotCount) {
    Signers s(2);
    SignedEnvelope env = Body();
    ASSERT_TRUE(env.Sign(s.keys[1]).ok());
    EXPECT_FALSE(VerifyThreshold(env, s.ring, {s.ids[0]}, 1, "test").ok());
}

TEST(Threshold, TamperedBodyFails) {
    Signers s(1);
    SignedEnvelope env = Body();
    ASSERT_TRUE(env.Sign(s.keys[0]).ok());
    env.signed_body["version"] = 4;
    EXPECT_FALSE(VerifyThreshold(env, s.ring, s.ids, 1, "test").ok());
}

TEST(Threshold, ZeroThresholdIsRefused) {
    Signers s(1);
    EXPECT_FALSE(VerifyThreshold(Body(), s.ring, s.ids, 0, "test").ok());
}

TEST(Envelope, RoundTripsThroughJson) {
    Signers s(1);
    SignedEnvelope env = Body();
    ASSERT_TRUE(env.Sign(s.keys[0]).ok());
    auto back = SignedEnvelope::FromJson(env.ToJson(), "doc");
    ASSERT_TRUE(back.ok());
    EXPECT_TRUE(VerifyThreshold(*back, s.ring, s.ids, 1, "doc").ok());
    Json broken = env.ToJson();
    broken["signatures"] = "none";
    EXPECT_FALSE(SignedEnvelope::FromJson(broken, "doc").ok());
}

}  // namespace
}  // namespace hvkit
