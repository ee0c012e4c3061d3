// SHA-256 and Ed25519 through OpenSSL's EVP API, plus the hex encoding TUF uses.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "hvkit/json.h"
#include "hvkit/status.h"

namespace hvkit {

using Sha256Digest = std::array<uint8_t, 32>;

std::string HexEncode(std::span<const uint8_t> bytes);
// Lower- or upper-case hex; refuses odd lengths and non-hex characters.
Result<std::string> HexDecode(std::string_view hex, std::string_view what);

// Incremental SHA-256; Final() may be called once.
class Sha256 {
  public:
    Sha256();
    ~Sha256();
    Sha256(const Sha256&) = delete;
    Sha256& operator=(const Sha256&) = delete;

    void Update(const void* data, size_t size);
    void Update(std::string_view data) { Update(data.data(), data.size()); }
    Sha256Digest Final();

    static Sha256Digest Of(std::string_view data);
    static std::string HexOf(std::string_view data);

  private:
    struct Ctx;
    std::unique_ptr<Ctx> ctx_;
};

// Hex digest of (data) with a TUF hash algorithm name ("sha256", "sha512").
Result<std::string> DigestHex(std::string_view algorithm, std::string_view data);

// An Ed25519 public key in TUF's form: keytype and scheme "ed25519", keyval
// {"public": hex}. Its key ID is the hex SHA-256 of that object's canonical JSON.
class PublicKey {
  public:
    static Result<PublicKey> FromRaw(std::string_view raw32);
    // Accepts exactly keytype "ed25519" and scheme "ed25519" (TUF 1.0 key objects).
    static Result<PublicKey> FromTufJson(const Json& key, std::string_view context);

    const std::string& raw() const { return raw_; }
    Json ToTufJson() const;
    std::string KeyId() const;
    // True when (signature) is a valid Ed25519 signature of (message).
    bool Verify(std::string_view message, std::string_view signature) const;

  private:
    std::string raw_;  // 32 bytes
};

// An Ed25519 private key. Files hold the securesystemslib-style object
// {"keytype","scheme","keyval":{"public","private"}} with mode 0600.
class PrivateKey {
  public:
    static Result<PrivateKey> Generate();
    static Result<PrivateKey> FromRaw(std::string_view seed32);
    static Result<PrivateKey> Load(const std::string& path);
    Status Save(const std::string& path) const;

    const PublicKey& public_key() const { return public_; }
    std::string KeyId() const { return public_.KeyId(); }
    // A 64-byte Ed25519 signature of (message).
    Result<std::string> Sign(std::string_view message) const;

  private:
    std::string seed_;  // 32 bytes
    PublicKey public_;
};

}  // namespace hvkit
