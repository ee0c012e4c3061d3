// op_install: the package's guest extensions, extracted beside the current
// ones (not yet switched to). Journals the transaction staged: both halves
// are now in place and nothing is committed.
#include "hvkit/agent/apply_ops.h"

namespace hvkit::agent {

Status InstallOp(ApplyWorld& w, ApplyTransaction& t) {
    w.reporter.Step(UpdateStep::kInstall, "installing the guest extensions (staged)");
    HVKIT_RETURN_IF_ERROR(w.extensions.Stage(t.package_path, w.trust, t.target));
    return w.journal.Advance(t.id, TxState::kStaged);
}

}  // namespace hvkit::agent
