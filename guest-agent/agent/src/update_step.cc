// Names of the agent's update steps (update_step.h).
#include "hvkit/agent/update_step.h"

namespace hvkit::agent {

std::string_view UpdateStepName(UpdateStep step) {
    switch (step) {
        case UpdateStep::kRecover:
            return "recover";
        case UpdateStep::kRefresh:
            return "refresh";
        case UpdateStep::kDownload:
            return "download";
        case UpdateStep::kVerify:
            return "verify";
        case UpdateStep::kTransfer:
            return "transfer";
        case UpdateStep::kStage:
            return "stage";
        case UpdateStep::kInstall:
            return "install";
        case UpdateStep::kCommit:
            return "commit";
        case UpdateStep::kSwitch:
            return "switch";
        case UpdateStep::kDone:
            return "done";
    }
    return "?";
}

}  // namespace hvkit::agent
