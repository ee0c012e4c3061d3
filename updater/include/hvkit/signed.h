// The signed envelope shared by TUF metadata and package manifests:
//   {"signed": {...}, "signatures": [{"keyid": "...", "sig": "<hex>"}, ...]}
// Signatures cover the canonical JSON of "signed". A threshold counts distinct
// authorised public keys with a valid signature; duplicates count once.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "hvkit/crypto.h"
#include "hvkit/json.h"
#include "hvkit/status.h"

namespace hvkit {

struct Signature {
    std::string keyid;
    std::string sig_hex;
};

struct SignedEnvelope {
    Json signed_body;
    std::vector<Signature> signatures;

    // Checks the envelope's shape; (what) names the document in errors.
    static Result<SignedEnvelope> FromJson(const Json& doc, std::string_view what);
    Json ToJson() const;

    // Adds (or replaces) the signature of (key) over the canonical body.
    Status Sign(const PrivateKey& key);
};

// The keys a verifier knows, by key ID.
using KeyRing = std::map<std::string, PublicKey>;

// Verifies that at least (threshold) distinct key IDs out of (authorized) have
// a valid signature over (envelope), counting each distinct public key once.
// (role) names what is being verified.
Status VerifyThreshold(const SignedEnvelope& envelope, const KeyRing& keys,
                       const std::vector<std::string>& authorized, int64_t threshold,
                       std::string_view role);

}  // namespace hvkit
