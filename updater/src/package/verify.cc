#include "hvkit/package/verify.h"

#include "package_stream.h"

namespace hvkit {

Result<PackageInfo> VerifyPackage(PackageInput& input, const PackageTrustStore& trust,
                                  const PackagePolicy& policy) {
    internal::StreamRules rules{.trust = &trust, .policy = policy, .read_payload = true};
    return internal::ReadPackageStream(input, rules, nullptr);
}

Result<PackageInfo> VerifyPackageFile(const std::string& path, const PackageTrustStore& trust,
                                      const PackagePolicy& policy) {
    HVKIT_ASSIGN_OR_RETURN(PackageInput input, PackageInput::OpenFile(path));
    return VerifyPackage(input, trust, policy);
}

Result<PackageInfo> InspectPackage(PackageInput& input, bool check_payload,
                                   const PackageLimits& limits) {
    internal::StreamRules rules{.trust = nullptr, .policy = {}, .read_payload = check_payload};
    rules.policy.limits = limits;
    // Inspection shows what is there; the setuid policy is the verifier's call.
    rules.policy.setuid_components = AllComponents();
    return internal::ReadPackageStream(input, rules, nullptr);
}

}  // namespace hvkit
