// Adding signatures to an existing package, for thresholds above one: each
// signer runs `hvpkg sign` with their own key in turn.
#pragma once

#include <string>
#include <vector>

#include "hvkit/crypto.h"
#include "hvkit/package/policy.h"
#include "hvkit/package/verify.h"
#include "hvkit/status.h"

namespace hvkit {

// Adds the signature of each of (keys) to the package at (path) (replacing an
// earlier signature by the same key) and rewrites it atomically, same
// compression. The payload is checked against the manifest while it is copied,
// so a signer never signs a manifest its content does not match. Returns what
// was read, with the new envelope.
Result<PackageInfo> SignPackageFile(const std::string& path, const std::vector<PrivateKey>& keys,
                                    const PackageLimits& limits = {});

}  // namespace hvkit
