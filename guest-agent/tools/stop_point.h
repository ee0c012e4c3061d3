// HVUPDATE_TEST_STOP_AT=POINT (system tests only): hvupdate stops itself
// (SIGSTOP) the first time an apply reaches POINT, so that a test can cut the
// transaction exactly there: kill the agent, reset the guest or kill the
// hypervisor, then see that nothing is left half done. SIGCONT goes on.
//   downloaded    the package is downloaded, not yet verified
//   mid-transfer  half the hypervisor's part (or more: a chunk may hold it
//                 all) has gone down over hvchan; not yet ended
//   staged        the hypervisor has staged its part and the guest its
//                 extensions; the journal says committing; nothing committed
//   committing    the hypervisor has committed; the guest's extensions are
//                 not switched yet
// The points are found by the agent's step reports, as the agent's unit
// tests cut it, so that a new step in the agent cannot move them unseen:
// a point that is never reached stops nothing and the test waiting for it
// fails.
#pragma once

#include <signal.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>

#include "hvkit/agent/agent.h"

namespace hvkit::agent {

class StopPointReporter final : public Reporter {
  public:
    static constexpr const char* kVariable = "HVUPDATE_TEST_STOP_AT";

    // The point named by HVUPDATE_TEST_STOP_AT, none when it is unset;
    // kInvalidArgument naming the variable and the points for any other name.
    static Result<std::optional<std::string>> PointFromEnvironment() {
        const char* value = getenv(kVariable);
        if (value == nullptr || *value == '\0') return std::optional<std::string>();
        std::string point = value;
        if (StepPrefix(point) == nullptr && point != "mid-transfer") {
            return Error(ErrorCode::kInvalidArgument,
                         std::string(kVariable) + "=" + point +
                             ": not a stop point (downloaded, mid-transfer, staged, committing)");
        }
        return std::optional<std::string>(point);
    }

    // Reports to (inner); stops at (point), if any.
    StopPointReporter(Reporter& inner, std::optional<std::string> point)
        : inner_(inner), point_(std::move(point)) {}

    void Step(std::string_view what) override {
        inner_.Step(what);
        const char* prefix = point_ ? StepPrefix(*point_) : nullptr;
        if (prefix != nullptr && what.substr(0, strlen(prefix)) == prefix) Stop();
    }

    void Progress(std::string_view what, uint64_t done, uint64_t total) override {
        inner_.Progress(what, done, total);
        if (point_ == "mid-transfer" && what == "transfer" && done * 2 >= total) Stop();
    }

  private:
    // The step the agent reports right after (point) is reached.
    static const char* StepPrefix(const std::string& point) {
        if (point == "downloaded") return "verifying";
        if (point == "staged") return "committing:";
        if (point == "committing") return "the hypervisor committed";
        return nullptr;
    }

    void Stop() {
        if (stopped_) return;
        stopped_ = true;
        fprintf(stderr, "hvupdate: stopped at %s (%s)\n", point_->c_str(), kVariable);
        fflush(stderr);
        raise(SIGSTOP);
    }

    Reporter& inner_;
    std::optional<std::string> point_;
    bool stopped_ = false;
};

}  // namespace hvkit::agent
