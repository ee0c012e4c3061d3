// op_stage: the hypervisor verifies the whole package against its own keys
// and floor and stages it in its free slot (UPDATE_END).
#include "hvkit/agent/apply_ops.h"

namespace hvkit::agent {

Status StageOp(ApplyWorld& w, ApplyTransaction& t) {
    w.reporter.Step(UpdateStep::kStage, "the hypervisor verifies and stages it");
    return w.host.End(t.session);
}

}  // namespace hvkit::agent
