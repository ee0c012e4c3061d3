// Verifying a package without extracting it: the manifest signature first,
// then every entry streamed, checked against the rules and hashed, nothing
// written. hvmm verifies a package the guest handed down this way before it
// stages anything; `hvpkg verify` and `hvpkg inspect` are built on it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "hvkit/package/format.h"
#include "hvkit/package/input.h"
#include "hvkit/package/manifest.h"
#include "hvkit/package/policy.h"
#include "hvkit/package/trust_store.h"
#include "hvkit/signed.h"
#include "hvkit/status.h"

namespace hvkit {

// What reading a package established.
struct PackageInfo {
    SignedEnvelope envelope;  // manifest.json as read
    Manifest manifest;
    // Trusted keys whose signature is valid; empty when signatures were not
    // checked (InspectPackage).
    std::vector<std::string> signer_key_ids;
    bool signatures_verified = false;
    // Every payload entry was read and matched the manifest.
    bool payload_verified = false;
    Compression compression = Compression::kNone;
    uint64_t payload_bytes = 0;  // file content streamed
    uint64_t package_bytes = 0;  // package bytes read
};

// Streams (input): verifies the manifest's signatures against (trust), applies
// (policy), then reads every entry and checks it against the manifest (names,
// types, sizes, SHA-256, limits). Writes nothing. The first violation is
// returned as an error naming the package, the entry and the rule.
Result<PackageInfo> VerifyPackage(PackageInput& input, const PackageTrustStore& trust,
                                  const PackagePolicy& policy = {});

// VerifyPackage on the package file at (path).
Result<PackageInfo> VerifyPackageFile(const std::string& path, const PackageTrustStore& trust,
                                      const PackagePolicy& policy = {});

// Reads the manifest of (input) WITHOUT checking any signature, and when
// (check_payload) also every entry against that manifest. For showing and
// re-signing packages only: nothing it returns is trusted.
Result<PackageInfo> InspectPackage(PackageInput& input, bool check_payload,
                                   const PackageLimits& limits = {});

}  // namespace hvkit
