#include "hvkit/package/trust_store.h"

#include <gtest/gtest.h>

#include "hvkit/fs.h"
#include "temp_dir.h"

namespace hvkit::testing {
namespace {

struct Keys {
    std::vector<PrivateKey> priv;
    std::vector<PublicKey> pub;
    explicit Keys(int n) {
        for (int i = 0; i < n; ++i) {
            priv.push_back(PrivateKey::Generate().value());
            pub.push_back(priv.back().public_key());
        }
    }
};

SignedEnvelope Signed(const std::vector<const PrivateKey*>& signers) {
    SignedEnvelope env;
    env.signed_body["_type"] = "hvkit-package";
    env.signed_body["name"] = "demo";
    for (const auto* key : signers) EXPECT_TRUE(env.Sign(*key).ok());
    return env;
}

TEST(TrustStore, SavesAndLoads) {
    Keys k(3);
    auto store = PackageTrustStore::Create(k.pub, 2);
    ASSERT_TRUE(store.ok());
    TempDir tmp;
    ASSERT_TRUE(store->Save(tmp.Sub("trust.json")).ok());
    auto loaded = PackageTrustStore::Load(tmp.Sub("trust.json"));
    ASSERT_TRUE(loaded.ok()) << loaded.status().message();
    EXPECT_EQ(loaded->threshold(), 2);
    EXPECT_EQ(loaded->keys().size(), 3u);
    EXPECT_EQ(loaded->ToJson(), store->ToJson());
}

TEST(TrustStore, ThresholdNeedsDistinctTrustedKeys) {
    Keys k(3);
    auto store = PackageTrustStore::Create({k.pub[0], k.pub[1]}, 2).value();
    auto both = store.Verify(Signed({&k.priv[0], &k.priv[1]}), "manifest");
    ASSERT_TRUE(both.ok()) << both.status().message();
    EXPECT_EQ(both->size(), 2u);

    Status below = store.Verify(Signed({&k.priv[0]}), "manifest").status();
    EXPECT_EQ(below.code(), ErrorCode::kBadSignature);
    EXPECT_EQ(below.message(),
              "manifest: 1 valid signature(s) from authorised keys, threshold is 2");

    // The same key twice counts once.
    SignedEnvelope twice = Signed({&k.priv[0]});
    twice.signatures.push_back(twice.signatures[0]);
    EXPECT_FALSE(store.Verify(twice, "manifest").ok());

    // An untrusted key does not count towards the threshold.
    EXPECT_FALSE(store.Verify(Signed({&k.priv[0], &k.priv[2]}), "manifest").ok());
}

TEST(TrustStore, RefusesBadThresholdsAndForgedKeyIds) {
    Keys k(2);
    EXPECT_EQ(PackageTrustStore::Create(k.pub, 0).status().message(),
              "trust store: threshold 0 must be between 1 and the number of distinct keys (2)");
    EXPECT_FALSE(PackageTrustStore::Create(k.pub, 3).ok());
    // Duplicate keys are one key.
    EXPECT_FALSE(PackageTrustStore::Create({k.pub[0], k.pub[0]}, 2).ok());

    Json doc = PackageTrustStore::Create(k.pub, 1)->ToJson();
    Json forged = doc;
    Json keys = Json::MakeObject();
    keys[k.pub[0].KeyId()] = k.pub[1].ToTufJson();  // someone else's key under key 0's ID
    forged["keys"] = keys;
    auto r = PackageTrustStore::FromJson(forged, "trust.json");
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.status().message().find("the key ID is not the ID of the key"), std::string::npos)
        << r.status().message();

    Json wrong_type = doc;
    wrong_type["_type"] = "root";
    EXPECT_EQ(PackageTrustStore::FromJson(wrong_type, "trust.json").status().message(),
              "trust.json: _type is 'root', expected 'hvkit-package-trust'");
    Json zero = doc;
    zero["threshold"] = 0;
    EXPECT_NE(PackageTrustStore::FromJson(zero, "trust.json")
                  .status()
                  .message()
                  .find("trust.json: trust store: threshold 0"),
              std::string::npos);
}

TEST(TrustStore, MissingFileIsNotFound) {
    auto r = PackageTrustStore::Load("/nonexistent/trust.json");
    EXPECT_EQ(r.status().code(), ErrorCode::kNotFound);
}

}  // namespace
}  // namespace hvkit::testing
