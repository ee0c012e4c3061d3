#include "hvkit/crypto.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include "temp_dir.h"

namespace hvkit {
namespace {

std::string Unhex(std::string_view hex) {
    return HexDecode(hex, "test").value();
}

TEST(Sha256, KnownVectors) {
    EXPECT_EQ(Sha256::HexOf(""),
              "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    EXPECT_EQ(Sha256::HexOf("abc"),
              "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    Sha256 h;
    h.Update("a");
    h.Update("bc");
    EXPECT_EQ(HexEncode(h.Final()), Sha256::HexOf("abc"));
}

TEST(Hex, RefusesOddLengthAndNonHex) {
    EXPECT_FALSE(HexDecode("abc", "x").ok());
    EXPECT_FALSE(HexDecode("zz", "x").ok());
    EXPECT_EQ(*HexDecode("00FfaB", "x"), std::string("\x00\xff\xab", 3));
}

// RFC 8032, section 7.1, test 1 (empty message).
TEST(Ed25519, Rfc8032Vector) {
    auto key = PrivateKey::FromRaw(
        Unhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"));
    ASSERT_TRUE(key.ok());
    EXPECT_EQ(key->public_key().raw(),
              Unhex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"));
    std::string expected = Unhex(
        "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e3970"
        "1cf9b46bd25bf5f0595bbe24655141438e7a100b");
    EXPECT_EQ(*key->Sign(""), expected);
    EXPECT_TRUE(key->public_key().Verify("", expected));
    expected[0] ^= 1;
    EXPECT_FALSE(key->public_key().Verify("", expected));
}

TEST(Ed25519, KeyIdIsHashOfCanonicalKeyObject) {
    auto key = PrivateKey::Generate();
    ASSERT_TRUE(key.ok());
    Json obj = key->public_key().ToTufJson();
    EXPECT_EQ(key->KeyId(), Sha256::HexOf(*CanonicalJson(obj)));
    EXPECT_EQ(obj.Find("keytype")->as_string(), "ed25519");
    EXPECT_EQ(obj.Find("scheme")->as_string(), "ed25519");
}

TEST(Ed25519, RefusesOtherKeyTypes) {
    auto key = PrivateKey::Generate();
    Json obj = key->public_key().ToTufJson();
    obj["scheme"] = "rsassa-pss-sha256";
    auto r = PublicKey::FromTufJson(obj, "root.json key");
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.status().message().find("unsupported key type"), std::string::npos);
}

TEST(Ed25519, SaveAndLoadKeepsTheKeyPrivate) {
    testing::TempDir dir;
    auto key = PrivateKey::Generate();
    ASSERT_TRUE(key->Save(dir.Sub("k.json")).ok());
    struct stat st;
    ASSERT_EQ(stat(dir.Sub("k.json").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    auto loaded = PrivateKey::Load(dir.Sub("k.json"));
    ASSERT_TRUE(loaded.ok()) << loaded.status().message();
    EXPECT_EQ(loaded->KeyId(), key->KeyId());
    EXPECT_TRUE(key->public_key().Verify("m", *loaded->Sign("m")));
}

TEST(Ed25519, LoadRefusesMismatchedHalves) {
    testing::TempDir dir;
    auto a = PrivateKey::Generate();
    auto b = PrivateKey::Generate();
    ASSERT_TRUE(a->Save(dir.Sub("a.json")).ok());
    Json doc = *ParseJson(testing::ReadTestFile(dir.Sub("a.json")), "a");
    doc["keyval"]["public"] =
        b->public_key().ToTufJson().Find("keyval")->Find("public")->as_string();
    testing::WriteTestFile(dir.Sub("a.json"), DumpJson(doc));
    auto r = PrivateKey::Load(dir.Sub("a.json"));
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.status().message().find("does not match"), std::string::npos);
}

}  // namespace
}  // namespace hvkit
