// op_transfer: the package down to the hypervisor over hvchan, in hashed
// chunks (HostUpdater::Send). The session is journaled once it exists, so
// an interrupted apply can abort it (Agent::Recover).
#include "hvkit/agent/apply_ops.h"

namespace hvkit::agent {

Status TransferOp(ApplyWorld& w, ApplyTransaction& t) {
    w.reporter.Step(UpdateStep::kTransfer, "transferring the hypervisor's part over hvchan");
    HVKIT_RETURN_IF_ERROR(w.journal.Advance(t.id, TxState::kTransferring));
    HVKIT_ASSIGN_OR_RETURN(t.session, w.host.Send(t.package_path, t.package_sha256, t.manifest,
                                                  [&](uint64_t done, uint64_t total) {
                                                      w.reporter.Progress(UpdateStep::kTransfer,
                                                                          done, total);
                                                  }));
    return w.journal.Advance(t.id, TxState::kTransferring, "", t.session);
}

}  // namespace hvkit::agent
