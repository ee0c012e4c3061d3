// op_commit: the hypervisor commits first (its switch is atomic), then the
// guest's extensions switch to match. Between the two the journal says
// committing, and Agent::Recover settles an interruption there by asking
// the hypervisor which release it committed.
#include <unistd.h>

#include "hvkit/agent/apply_ops.h"

namespace hvkit::agent {

Status CommitOp(ApplyWorld& w, ApplyTransaction& t) {
    std::string to = t.target.ToString();
    w.reporter.Step(UpdateStep::kCommit,
                    "committing: the hypervisor first, then the guest extensions");
    HVKIT_RETURN_IF_ERROR(w.journal.Advance(t.id, TxState::kCommitting));
    HVKIT_RETURN_IF_ERROR(w.host.Commit(t.session));
    w.reporter.Step(UpdateStep::kSwitch,
                    "the hypervisor committed " + to + "; switching the guest extensions");
    HVKIT_RETURN_IF_ERROR(w.extensions.Activate(t.target));
    HVKIT_RETURN_IF_ERROR(w.journal.Advance(t.id, TxState::kCommitted));
    unlink(t.package_path.c_str());
    w.reporter.Step(UpdateStep::kDone,
                    "committed " + to + " (the hypervisor runs it from its next start)");
    return Status::Ok();
}

}  // namespace hvkit::agent
