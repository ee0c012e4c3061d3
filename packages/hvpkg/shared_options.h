// Options several hvpkg commands share: signing keys and the install policy.
#pragma once

#include <string>
#include <vector>

#include "cli.h"
#include "hvkit/crypto.h"
#include "hvkit/package/policy.h"
#include "hvkit/package/verify.h"

namespace hvpkg {

// Value options the policy reads: --installed-version, --allow-setuid.
inline const std::set<std::string> kPolicyOptions = {"--installed-version", "--allow-setuid"};

// The private keys named by every --key.
hvkit::Result<std::vector<hvkit::PrivateKey>> LoadSigningKeys(const Args& args);

// The default PackagePolicy, with --installed-version V (anti-rollback check)
// and --allow-setuid COMPONENT (repeatable; "none" for no component) applied.
hvkit::Result<hvkit::PackagePolicy> PolicyFromArgs(const Args& args);

// "demo 1.2.0 (3 files, 4096 bytes)".
std::string DescribePackage(const hvkit::PackageInfo& info);

}  // namespace hvpkg
