// HVMM_TEST_CRASH_AFTER=STEP (system tests only): hvmm kills itself with
// SIGKILL right after the release store's STEP is durable, so that a test
// can cut a commit where no outside kill could land, and see that the next
// start finds the old release or the new one, never a mix.
#include <signal.h>

#include <cstdlib>

#include "update/release_store.h"

namespace hvkit::hvmm {

Result<std::function<void(std::string_view)>> CrashHookFromEnvironment() {
    const char* value = getenv(kCrashAfterVariable);
    if (value == nullptr || *value == '\0') return std::function<void(std::string_view)>();
    std::string step = value;
    bool known = false;
    std::string steps;
    for (std::string_view s : release_step::kAll) {
        known = known || s == step;
        steps += (steps.empty() ? "" : ", ") + std::string(s);
    }
    if (!known) {
        return Error(ErrorCode::kInvalidArgument, std::string(kCrashAfterVariable) + "=" + step +
                                                      ": not a release-store step (" + steps + ")");
    }
    return std::function<void(std::string_view)>([step](std::string_view done) {
        if (done == step) raise(SIGKILL);
    });
}

}  // namespace hvkit::hvmm
