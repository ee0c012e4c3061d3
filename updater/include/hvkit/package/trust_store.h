// The keys trusted to sign packages and how many of them must agree. The
// publisher's tools, the guest agent and the hypervisor each hold one; the
// hypervisor's own store is what makes it independent of the guest.
//
// File format (docs/package-format.md, "Trust store"):
//   {"_type": "hvkit-package-trust", "threshold": 2,
//    "keys": {"<keyid>": {"keytype": "ed25519", "scheme": "ed25519",
//                         "keyval": {"public": "<hex>"}}, ...}}
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "hvkit/crypto.h"
#include "hvkit/json.h"
#include "hvkit/signed.h"
#include "hvkit/status.h"

namespace hvkit {

inline constexpr std::string_view kPackageTrustType = "hvkit-package-trust";

class PackageTrustStore {
  public:
    // A store trusting (keys) that needs (threshold) distinct valid signatures;
    // refuses a threshold below 1 or above the number of distinct keys.
    static Result<PackageTrustStore> Create(const std::vector<PublicKey>& keys, int64_t threshold);
    // Parses the file format above; every key ID must be the ID of its key.
    static Result<PackageTrustStore> FromJson(const Json& doc, std::string_view what);
    // Reads and parses the trust store file at (path).
    static Result<PackageTrustStore> Load(const std::string& path);

    Json ToJson() const;
    // Writes the store to (path) atomically, mode 0644.
    Status Save(const std::string& path) const;

    const KeyRing& keys() const { return keys_; }
    int64_t threshold() const { return threshold_; }

    // Checks that (envelope) holds valid signatures over its canonical body from
    // at least threshold() distinct trusted keys (kBadSignature otherwise) and
    // returns the IDs of the trusted keys whose signature is valid. (what) names
    // the manifest in errors.
    Result<std::vector<std::string>> Verify(const SignedEnvelope& envelope,
                                            std::string_view what) const;

  private:
    KeyRing keys_;
    std::vector<std::string> key_ids_;
    int64_t threshold_ = 1;
};

}  // namespace hvkit
