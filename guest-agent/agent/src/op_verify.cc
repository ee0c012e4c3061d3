// op_verify: the downloaded package against the guest's own trust store
// (signature, every file's hash, the version rules), before any of it goes
// to the hypervisor, which checks everything again against its own keys.
#include "hvkit/agent/apply_ops.h"
#include "hvkit/json.h"
#include "hvkit/package/verify.h"

namespace hvkit::agent {

Status VerifyOp(ApplyWorld& w, ApplyTransaction& t) {
    w.reporter.Step(UpdateStep::kVerify, "verifying the package against the guest's trust store");
    PackagePolicy policy;
    policy.installed_version = t.installed;
    HVKIT_ASSIGN_OR_RETURN(PackageInfo info, VerifyPackageFile(t.package_path, w.trust, policy));
    if (info.manifest.version != t.target) {
        return Error(ErrorCode::kConflict, "the repository's " + t.target.ToString() +
                                               " package is version " +
                                               info.manifest.version.ToString());
    }
    t.manifest = DumpJson(info.envelope.ToJson());
    return Status::Ok();
}

}  // namespace hvkit::agent
