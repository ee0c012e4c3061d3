// Waiting out the hypervisor's trial of a committed release (host_trial.h).
#include "hvkit/agent/host_trial.h"

#include <unistd.h>

#include <cstring>

namespace hvkit::agent {

Status AwaitHostTrial(UpdateHost& host, const std::string& version, std::chrono::milliseconds wait,
                      std::chrono::milliseconds poll) {
    auto until = std::chrono::steady_clock::now() + wait;
    for (;;) {
        HVKIT_ASSIGN_OR_RETURN(hvchan_update_status s, host.Report());
        std::string on(s.version, strnlen(s.version, sizeof s.version));
        std::string why(s.message, strnlen(s.message, sizeof s.message));
        if (s.state != HVCHAN_UPDATE_TRIAL || on != version) {
            if (s.state == HVCHAN_UPDATE_FAILED && on == version) {
                return Error(ErrorCode::kRefused,
                             "the hypervisor's trial of " + version +
                                 " failed; it runs its previous release on: " + why);
            }
            return Status::Ok();
        }
        if (std::chrono::steady_clock::now() >= until) {
            return Error(ErrorCode::kNetwork,
                         "the hypervisor gave no verdict on its trial of " + version + " within " +
                             std::to_string(wait.count() / 1000) + " s (" + why + ")");
        }
        usleep(static_cast<useconds_t>(
            std::chrono::duration_cast<std::chrono::microseconds>(poll).count()));
    }
}

}  // namespace hvkit::agent
