#include "hvkit/crypto.h"

#include <openssl/evp.h>

#include "hvkit/fs.h"

namespace hvkit {

namespace {

struct PkeyDeleter {
    void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct MdCtxDeleter {
    void operator()(EVP_MD_CTX* p) const { EVP_MD_CTX_free(p); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyDeleter>;
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, MdCtxDeleter>;

const unsigned char* Bytes(std::string_view s) {
    return reinterpret_cast<const unsigned char*>(s.data());
}

}  // namespace

std::string HexEncode(std::span<const uint8_t> bytes) {
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string out(bytes.size() * 2, '\0');
    for (size_t i = 0; i < bytes.size(); ++i) {
        out[2 * i] = kDigits[bytes[i] >> 4];
        out[2 * i + 1] = kDigits[bytes[i] & 0xF];
    }
    return out;
}

Result<std::string> HexDecode(std::string_view hex, std::string_view what) {
    if (hex.size() % 2 != 0) {
        return Error(ErrorCode::kMalformed, std::string(what) + ": hex string has odd length");
    }
    auto nibble = [](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        return -1;
    };
    std::string out(hex.size() / 2, '\0');
    for (size_t i = 0; i < out.size(); ++i) {
        int hi = nibble(hex[2 * i]), lo = nibble(hex[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            return Error(ErrorCode::kMalformed, std::string(what) + ": not a hex string");
        }
        out[i] = static_cast<char>(hi << 4 | lo);
    }
    return out;
}

struct Sha256::Ctx {
    MdCtxPtr md{EVP_MD_CTX_new()};
};

Sha256::Sha256() : ctx_(std::make_unique<Ctx>()) {
    EVP_DigestInit_ex(ctx_->md.get(), EVP_sha256(), nullptr);
}
Sha256::~Sha256() = default;

void Sha256::Update(const void* data, size_t size) {
    EVP_DigestUpdate(ctx_->md.get(), data, size);
}

Sha256Digest Sha256::Final() {
    Sha256Digest digest{};
    unsigned int len = 0;
    EVP_DigestFinal_ex(ctx_->md.get(), digest.data(), &len);
    return digest;
}

Sha256Digest Sha256::Of(std::string_view data) {
    Sha256 h;
    h.Update(data);
    return h.Final();
}

std::string Sha256::HexOf(std::string_view data) {
    return HexEncode(Of(data));
}

Result<std::string> DigestHex(std::string_view algorithm, std::string_view data) {
    const EVP_MD* md = algorithm == "sha256"   ? EVP_sha256()
                       : algorithm == "sha512" ? EVP_sha512()
                                               : nullptr;
    if (md == nullptr) {
        return Error(ErrorCode::kInvalidArgument,
                     "unsupported hash algorithm \"" + std::string(algorithm) + "\"");
    }
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_Digest(data.data(), data.size(), out, &len, md, nullptr);
    return HexEncode({out, len});
}

Result<PublicKey> PublicKey::FromRaw(std::string_view raw32) {
    if (raw32.size() != 32) {
        return Error(ErrorCode::kMalformed,
                     "an Ed25519 public key must be 32 bytes, not " + std::to_string(raw32.size()));
    }
    PublicKey key;
    key.raw_ = std::string(raw32);
    return key;
}

Result<PublicKey> PublicKey::FromTufJson(const Json& key, std::string_view context) {
    HVKIT_ASSIGN_OR_RETURN(std::string keytype, JsonString(key, "keytype", context));
    HVKIT_ASSIGN_OR_RETURN(std::string scheme, JsonString(key, "scheme", context));
    if (keytype != "ed25519" || scheme != "ed25519") {
        return Error(ErrorCode::kMalformed, std::string(context) + ": unsupported key type \"" +
                                                keytype + "\" / scheme \"" + scheme +
                                                "\" (hvkit accepts ed25519/ed25519)");
    }
    HVKIT_ASSIGN_OR_RETURN(const Json* keyval,
                           JsonMember(key, "keyval", Json::Type::kObject, context));
    HVKIT_ASSIGN_OR_RETURN(std::string public_hex, JsonString(*keyval, "public", context));
    HVKIT_ASSIGN_OR_RETURN(std::string raw, HexDecode(public_hex, context));
    auto result = FromRaw(raw);
    if (!result.ok()) return result.status().WithContext(std::string(context));
    return result;
}

Json PublicKey::ToTufJson() const {
    Json key;
    key["keytype"] = "ed25519";
    key["scheme"] = "ed25519";
    key["keyval"]["public"] =
        HexEncode({reinterpret_cast<const uint8_t*>(raw_.data()), raw_.size()});
    return key;
}

std::string PublicKey::KeyId() const {
    // Canonical encoding of a key object cannot fail: it holds only strings.
    return Sha256::HexOf(CanonicalJson(ToTufJson()).value());
}

bool PublicKey::Verify(std::string_view message, std::string_view signature) const {
    if (signature.size() != 64 || raw_.size() != 32) return false;
    PkeyPtr pkey(EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, Bytes(raw_), raw_.size()));
    if (!pkey) return false;
    MdCtxPtr ctx(EVP_MD_CTX_new());
    if (EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, pkey.get()) != 1) return false;
    return EVP_DigestVerify(ctx.get(), Bytes(signature), signature.size(), Bytes(message),
                            message.size()) == 1;
}

Result<PrivateKey> PrivateKey::FromRaw(std::string_view seed32) {
    if (seed32.size() != 32) {
        return Error(ErrorCode::kMalformed, "an Ed25519 private key must be 32 bytes");
    }
    PkeyPtr pkey(EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, Bytes(seed32), 32));
    if (!pkey) return Error(ErrorCode::kMalformed, "OpenSSL refused the Ed25519 private key");
    std::string pub(32, '\0');
    size_t len = pub.size();
    if (EVP_PKEY_get_raw_public_key(pkey.get(), reinterpret_cast<unsigned char*>(pub.data()),
                                    &len) != 1) {
        return Error(ErrorCode::kMalformed, "cannot derive the Ed25519 public key");
    }
    PrivateKey key;
    key.seed_ = std::string(seed32);
    HVKIT_ASSIGN_OR_RETURN(key.public_, PublicKey::FromRaw(pub));
    return key;
}

Result<PrivateKey> PrivateKey::Generate() {
    EVP_PKEY* raw = nullptr;
    std::unique_ptr<EVP_PKEY_CTX, decltype(&EVP_PKEY_CTX_free)> ctx(
        EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, nullptr), EVP_PKEY_CTX_free);
    if (!ctx || EVP_PKEY_keygen_init(ctx.get()) != 1 || EVP_PKEY_keygen(ctx.get(), &raw) != 1) {
        return Error(ErrorCode::kIo, "OpenSSL could not generate an Ed25519 key");
    }
    PkeyPtr pkey(raw);
    std::string seed(32, '\0');
    size_t len = seed.size();
    EVP_PKEY_get_raw_private_key(pkey.get(), reinterpret_cast<unsigned char*>(seed.data()), &len);
    return FromRaw(seed);
}

Result<std::string> PrivateKey::Sign(std::string_view message) const {
    PkeyPtr pkey(
        EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, Bytes(seed_), seed_.size()));
    MdCtxPtr ctx(EVP_MD_CTX_new());
    std::string sig(64, '\0');
    size_t len = sig.size();
    if (!pkey || EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, pkey.get()) != 1 ||
        EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len,
                       Bytes(message), message.size()) != 1) {
        return Error(ErrorCode::kIo, "OpenSSL could not sign with Ed25519 key " + KeyId());
    }
    return sig;
}

Result<PrivateKey> PrivateKey::Load(const std::string& path) {
    HVKIT_ASSIGN_OR_RETURN(std::string text, ReadFile(path, 64 * 1024));
    HVKIT_ASSIGN_OR_RETURN(Json doc, ParseJson(text, path));
    HVKIT_ASSIGN_OR_RETURN(PublicKey pub, PublicKey::FromTufJson(doc, path));
    HVKIT_ASSIGN_OR_RETURN(const Json* keyval,
                           JsonMember(doc, "keyval", Json::Type::kObject, path));
    HVKIT_ASSIGN_OR_RETURN(std::string private_hex, JsonString(*keyval, "private", path));
    HVKIT_ASSIGN_OR_RETURN(std::string seed, HexDecode(private_hex, path));
    HVKIT_ASSIGN_OR_RETURN(PrivateKey key, FromRaw(seed));
    if (key.public_.raw() != pub.raw()) {
        return Error(ErrorCode::kMalformed,
                     path + ": the public key does not match the private key");
    }
    return key;
}

Status PrivateKey::Save(const std::string& path) const {
    Json doc = public_.ToTufJson();
    doc["keyval"]["private"] =
        HexEncode({reinterpret_cast<const uint8_t*>(seed_.data()), seed_.size()});
    return WriteFileAtomic(path, DumpJson(doc), 0600);
}

}  // namespace hvkit
