// The one streaming reader every package operation goes through (verify,
// inspect, extract, re-sign), so the rules are enforced in exactly one place.
// Internal to hvpackage.
#pragma once

#include <cstddef>

#include "hvkit/package/input.h"
#include "hvkit/package/manifest.h"
#include "hvkit/package/policy.h"
#include "hvkit/package/trust_store.h"
#include "hvkit/package/verify.h"
#include "hvkit/status.h"

namespace hvkit::internal {

// Receives a package as the stream reads it. Data arrives only after the
// manifest passed (OnManifest); EndFile only after the file's size and
// SHA-256 matched. A failing call stops the stream with its Status.
class PayloadSink {
  public:
    virtual ~PayloadSink() = default;
    virtual Status OnManifest(const PackageInfo& info) = 0;
    virtual Status BeginFile(const PackageFile& file) = 0;
    virtual Status WriteData(const void* data, size_t size) = 0;
    virtual Status EndFile(const PackageFile& file) = 0;
};

struct StreamRules {
    // nullptr reads the manifest unverified (InspectPackage and re-signing only).
    const PackageTrustStore* trust = nullptr;
    PackagePolicy policy{};
    // false stops after the manifest.
    bool read_payload = true;
};

// Reads (input) under (rules), feeding (sink) (may be nullptr).
Result<PackageInfo> ReadPackageStream(PackageInput& input, const StreamRules& rules,
                                      PayloadSink* sink);

}  // namespace hvkit::internal
