// Fuzz target: the package reader over arbitrary bytes, verifying without
// extracting against a fixed trust store (the key seeds are signed with), and
// inspecting without trust. Limits are small so each input stays fast.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "fuzz_key.h"
#include "hvkit/package/verify.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static const hvkit::PackageTrustStore trust =
        hvkit::PackageTrustStore::Create({hvkit::fuzz::FuzzSigningKey().public_key()}, 1).value();
    hvkit::PackagePolicy policy;
    policy.limits.max_total_bytes = 8 << 20;
    policy.limits.max_entries = 256;
    policy.limits.max_manifest_bytes = 256 << 10;
    policy.limits.ratio_grace_bytes = 1 << 20;
    std::string_view bytes(reinterpret_cast<const char*>(data), size);

    hvkit::PackageInput input = hvkit::PackageInput::FromBytes(bytes, "fuzz.hvpkg");
    auto verified = hvkit::VerifyPackage(input, trust, policy);
    if (verified.ok()) {
        // Everything accepted must be consistent with its manifest.
        if (!verified->signatures_verified || !verified->payload_verified ||
            verified->payload_bytes != verified->manifest.TotalBytes()) {
            abort();
        }
    }
    hvkit::PackageInput again = hvkit::PackageInput::FromBytes(bytes, "fuzz.hvpkg");
    (void)hvkit::InspectPackage(again, true, policy.limits);
    return 0;
}
