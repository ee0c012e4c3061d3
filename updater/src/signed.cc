#include "hvkit/signed.h"

#include <algorithm>
#include <set>

namespace hvkit {

Result<SignedEnvelope> SignedEnvelope::FromJson(const Json& doc, std::string_view what) {
    SignedEnvelope envelope;
    HVKIT_ASSIGN_OR_RETURN(const Json* body, JsonMember(doc, "signed", Json::Type::kObject, what));
    HVKIT_ASSIGN_OR_RETURN(const Json* sigs,
                           JsonMember(doc, "signatures", Json::Type::kArray, what));
    envelope.signed_body = *body;
    for (const Json& sig : sigs->as_array()) {
        std::string context = std::string(what) + " signature";
        HVKIT_ASSIGN_OR_RETURN(std::string keyid, JsonString(sig, "keyid", context));
        HVKIT_ASSIGN_OR_RETURN(std::string hex, JsonString(sig, "sig", context));
        envelope.signatures.push_back({std::move(keyid), std::move(hex)});
    }
    return envelope;
}

Json SignedEnvelope::ToJson() const {
    Json doc;
    doc["signed"] = signed_body;
    Json sigs = Json::MakeArray();
    for (const auto& sig : signatures) {
        Json s;
        s["keyid"] = sig.keyid;
        s["sig"] = sig.sig_hex;
        sigs.Push(std::move(s));
    }
    doc["signatures"] = std::move(sigs);
    return doc;
}

Status SignedEnvelope::Sign(const PrivateKey& key) {
    HVKIT_ASSIGN_OR_RETURN(std::string canonical, CanonicalJson(signed_body));
    HVKIT_ASSIGN_OR_RETURN(std::string sig, key.Sign(canonical));
    std::string keyid = key.KeyId();
    std::erase_if(signatures, [&](const Signature& s) { return s.keyid == keyid; });
    signatures.push_back(
        {keyid, HexEncode({reinterpret_cast<const uint8_t*>(sig.data()), sig.size()})});
    return Status::Ok();
}

Status VerifyThreshold(const SignedEnvelope& envelope, const KeyRing& keys,
                       const std::vector<std::string>& authorized, int64_t threshold,
                       std::string_view role) {
    if (threshold < 1) {
        return Error(
            ErrorCode::kBadSignature,
            std::string(role) + ": threshold must be at least 1, not " + std::to_string(threshold));
    }
    auto canonical = CanonicalJson(envelope.signed_body);
    if (!canonical.ok()) return canonical.status().WithContext(std::string(role));
    // Distinct public keys, not key IDs: one key listed under two IDs must not
    // count twice towards a threshold.
    std::set<std::string> valid;
    for (const auto& sig : envelope.signatures) {
        if (std::find(authorized.begin(), authorized.end(), sig.keyid) == authorized.end())
            continue;
        auto key = keys.find(sig.keyid);
        if (key == keys.end()) continue;
        auto raw = HexDecode(sig.sig_hex, "signature");
        if (!raw.ok()) continue;
        if (key->second.Verify(*canonical, *raw)) valid.insert(key->second.raw());
    }
    if (static_cast<int64_t>(valid.size()) < threshold) {
        return Error(ErrorCode::kBadSignature,
                     std::string(role) + ": " + std::to_string(valid.size()) +
                         " valid signature(s) from authorised keys, threshold is " +
                         std::to_string(threshold));
    }
    return Status::Ok();
}

}  // namespace hvkit
