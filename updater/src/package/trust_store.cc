#include "hvkit/package/trust_store.h"

#include <algorithm>

#include "hvkit/fs.h"
#include "hvkit/package/path_rules.h"

namespace hvkit {

namespace {

constexpr size_t kMaxTrustStoreBytes = 1024 * 1024;

}  // namespace

Result<PackageTrustStore> PackageTrustStore::Create(const std::vector<PublicKey>& keys,
                                                    int64_t threshold) {
    PackageTrustStore store;
    for (const auto& key : keys) {
        if (store.keys_.emplace(key.KeyId(), key).second) store.key_ids_.push_back(key.KeyId());
    }
    if (threshold < 1 || threshold > static_cast<int64_t>(store.keys_.size())) {
        return Error(ErrorCode::kInvalidArgument,
                     "trust store: threshold " + std::to_string(threshold) +
                         " must be between 1 and the number of distinct keys (" +
                         std::to_string(store.keys_.size()) + ")");
    }
    store.threshold_ = threshold;
    return store;
}

Result<PackageTrustStore> PackageTrustStore::FromJson(const Json& doc, std::string_view what) {
    if (!doc.is_object()) {
        return Error(ErrorCode::kMalformed, std::string(what) + ": expected a JSON object");
    }
    HVKIT_ASSIGN_OR_RETURN(std::string type, JsonString(doc, "_type", what));
    if (type != kPackageTrustType) {
        return Error(ErrorCode::kMalformed, std::string(what) + ": _type is " + Quote(type) +
                                                ", expected '" + std::string(kPackageTrustType) +
                                                "'");
    }
    HVKIT_ASSIGN_OR_RETURN(int64_t threshold, JsonInt(doc, "threshold", what));
    HVKIT_ASSIGN_OR_RETURN(const Json* keys, JsonMember(doc, "keys", Json::Type::kObject, what));
    std::vector<PublicKey> list;
    for (const auto& [keyid, key_json] : keys->as_object()) {
        std::string context = std::string(what) + " key " + Quote(keyid);
        HVKIT_ASSIGN_OR_RETURN(PublicKey key, PublicKey::FromTufJson(key_json, context));
        if (key.KeyId() != keyid) {
            return Error(
                ErrorCode::kMalformed,
                context + ": the key ID is not the ID of the key (expected " + key.KeyId() + ")");
        }
        list.push_back(std::move(key));
    }
    auto store = Create(list, threshold);
    if (!store.ok()) return store.status().WithContext(std::string(what));
    return store;
}

Result<PackageTrustStore> PackageTrustStore::Load(const std::string& path) {
    HVKIT_ASSIGN_OR_RETURN(std::string text, ReadFile(path, kMaxTrustStoreBytes));
    HVKIT_ASSIGN_OR_RETURN(Json doc, ParseJson(text, path));
    return FromJson(doc, path);
}

Json PackageTrustStore::ToJson() const {
    Json doc;
    doc["_type"] = kPackageTrustType;
    doc["threshold"] = threshold_;
    Json keys = Json::MakeObject();
    for (const auto& [keyid, key] : keys_) keys[keyid] = key.ToTufJson();
    doc["keys"] = std::move(keys);
    return doc;
}

Status PackageTrustStore::Save(const std::string& path) const {
    return WriteFileAtomic(path, DumpJson(ToJson()) + "\n", 0644);
}

Result<std::vector<std::string>> PackageTrustStore::Verify(const SignedEnvelope& envelope,
                                                           std::string_view what) const {
    HVKIT_RETURN_IF_ERROR(VerifyThreshold(envelope, keys_, key_ids_, threshold_, what));
    // The threshold is met; name the keys that met it (for inspect and logs).
    HVKIT_ASSIGN_OR_RETURN(std::string canonical, CanonicalJson(envelope.signed_body));
    std::vector<std::string> valid;
    for (const auto& sig : envelope.signatures) {
        auto key = keys_.find(sig.keyid);
        if (key == keys_.end()) continue;
        auto raw = HexDecode(sig.sig_hex, "signature");
        if (!raw.ok() || !key->second.Verify(canonical, *raw)) continue;
        if (std::find(valid.begin(), valid.end(), sig.keyid) == valid.end()) {
            valid.push_back(sig.keyid);
        }
    }
    return valid;
}

}  // namespace hvkit
