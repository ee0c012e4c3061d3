// Signing metadata as a role: with every key of the role the key store
// holds, and only if they reach the role's threshold, so hvrepo never
// publishes a file clients would reject.
#pragma once

#include <string>
#include <vector>

#include "hvkit/crypto.h"
#include "hvkit/json.h"
#include "hvkit/signed.h"
#include "hvkit/status.h"
#include "hvkit/tuf/metadata.h"
#include "key_store.h"

namespace hvkit::repo {

// Signs (body) with the keys (root) lists for (role) that (keys) holds.
// Fails, naming the role, the threshold and the key directory, when fewer
// than the threshold are available.
Result<SignedEnvelope> SignAsRole(const Json& body, const std::string& role,
                                  const tuf::RootMeta& root, const KeyStore& keys);

// Signs (body) with each of (signers) (duplicates sign once).
Result<SignedEnvelope> SignWith(const Json& body, const std::vector<PrivateKey>& signers);

// The error for (role) when only (available) of its keys can sign but
// (threshold) are needed.
Status MissingKeysError(const std::string& role, int64_t threshold, size_t available,
                        const KeyStore& keys);

}  // namespace hvkit::repo
