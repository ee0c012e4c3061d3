// op_commit: the hypervisor commits first (its switch is atomic), then the
// guest's extensions switch to match. Between the two the journal says
// committing, and Agent::Recover settles an interruption there by asking
// the hypervisor which release it committed.
#include <unistd.h>

#include "hvkit/agent/apply_ops.h"
#include "hvkit/agent/host_trial.h"

namespace hvkit::agent {

Status CommitOp(ApplyWorld& w, ApplyTransaction& t) {
    std::string to = t.target.ToString();
    w.reporter.Step(UpdateStep::kCommit,
                    "committing: the hypervisor first, then the guest extensions");
    HVKIT_RETURN_IF_ERROR(w.journal.Advance(t.id, TxState::kCommitting));
    HVKIT_RETURN_IF_ERROR(w.host.Commit(t.session));
    // A host that takes its guests over on commit has the release on trial
    // now: its new hvmm runs this VM and waits for it to answer. The guest
    // switches only to what the host really committed.
    HVKIT_ASSIGN_OR_RETURN(hvchan_update_status host, w.host.Report());
    if (host.state == HVCHAN_UPDATE_TRIAL) {
        w.reporter.Step(UpdateStep::kCommit,
                        "the hypervisor has " + to + " on trial: its new hvmm takes this VM over");
        HVKIT_RETURN_IF_ERROR(AwaitHostTrial(w.host, to));
    }
    w.reporter.Step(UpdateStep::kSwitch,
                    "the hypervisor committed " + to + "; switching the guest extensions");
    HVKIT_RETURN_IF_ERROR(w.extensions.Activate(t.target));
    HVKIT_RETURN_IF_ERROR(w.journal.Advance(t.id, TxState::kCommitted));
    unlink(t.package_path.c_str());
    w.reporter.Step(UpdateStep::kDone,
                    host.state == HVCHAN_UPDATE_TRIAL
                        ? "committed " + to + " (the hypervisor's new hvmm runs this VM)"
                        : "committed " + to + " (the hypervisor runs it from its next start)");
    return Status::Ok();
}

}  // namespace hvkit::agent
