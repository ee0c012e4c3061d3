// RunApply: the apply ops in order, and what a failure leaves behind.
#include "hvkit/agent/apply_ops.h"

namespace hvkit::agent {

namespace {

using Op = Status (*)(ApplyWorld&, ApplyTransaction&);
constexpr Op kApplyOps[] = {DownloadOp, VerifyOp, TransferOp, StageOp, InstallOp, CommitOp};

}  // namespace

Status RunApply(ApplyWorld& w, ApplyTransaction& t) {
    for (Op op : kApplyOps) {
        Status st = op(w, t);
        if (st.ok()) continue;
        // A failure after the hypervisor committed (the guest's switch or
        // the journal) is not undone here: hvmm runs the new release from
        // its next start, and Recover finishes the guest's half.
        HVKIT_ASSIGN_OR_RETURN(std::optional<Transaction> open, w.journal.Pending());
        if (open && open->id == t.id && open->state == TxState::kCommitting) {
            HVKIT_ASSIGN_OR_RETURN(HostVersions host, w.host.Versions());
            if (host.installed() == t.target.ToString()) return st;
        }
        if (t.session != 0) (void)w.host.Abort(t.session);
        (void)w.extensions.Discard(t.target);
        (void)w.journal.Advance(t.id, TxState::kFailed, st.message());
        return st;
    }
    return Status::Ok();
}

}  // namespace hvkit::agent
