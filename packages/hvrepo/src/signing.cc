#include "signing.h"

#include <set>

namespace hvkit::repo {

Status MissingKeysError(const std::string& role, int64_t threshold, size_t available,
                        const KeyStore& keys) {
    return Error(ErrorCode::kNotFound, "cannot sign " + role + " metadata: its threshold is " +
                                           std::to_string(threshold) + " signature(s) but only " +
                                           std::to_string(available) + " of its keys are in " +
                                           keys.dir() + "/" + role +
                                           "/: pass --keys DIR with the directory that holds them");
}

Result<SignedEnvelope> SignWith(const Json& body, const std::vector<PrivateKey>& signers) {
    SignedEnvelope envelope{body, {}};
    std::set<std::string> signed_by;
    for (const PrivateKey& key : signers) {
        if (!signed_by.insert(key.KeyId()).second) continue;
        HVKIT_RETURN_IF_ERROR(envelope.Sign(key));
    }
    return envelope;
}

Result<SignedEnvelope> SignAsRole(const Json& body, const std::string& role,
                                  const tuf::RootMeta& root, const KeyStore& keys) {
    const tuf::RoleKeys& role_keys = root.roles.at(role);
    HVKIT_ASSIGN_OR_RETURN(std::vector<PrivateKey> signers,
                           keys.LoadAvailable(role, role_keys.keyids));
    if (static_cast<int64_t>(signers.size()) < role_keys.threshold) {
        return MissingKeysError(role, role_keys.threshold, signers.size(), keys);
    }
    HVKIT_ASSIGN_OR_RETURN(SignedEnvelope envelope, SignWith(body, signers));
    // Check as a client will, so a wrong key file cannot produce bad metadata.
    HVKIT_RETURN_IF_ERROR(
        VerifyThreshold(envelope, root.keys, role_keys.keyids, role_keys.threshold, role));
    return envelope;
}

}  // namespace hvkit::repo
