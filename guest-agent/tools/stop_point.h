// HVUPDATE_TEST_STOP_AT=POINT (system tests only): hvupdate stops itself
// (SIGSTOP) the first time an apply reaches POINT, so that a test can cut the
// transaction exactly there: kill the agent, reset the guest or kill the
// hypervisor, then see that nothing is left half done. SIGCONT goes on.
// Each point is named for the journal state the transaction is in there:
//   downloaded    the package is downloaded, not yet verified
//   mid-transfer  half the hypervisor's part (or more: a chunk may hold it
//                 all) has gone down over hvchan; not yet ended
//   staged        the hypervisor has staged its part and the guest its
//                 extensions; nothing committed
//   committing    the hypervisor has committed; the guest's extensions are
//                 not switched yet
// A point is the start of the agent's next step (UpdateStep), as the
// agent's unit tests cut it, so a step added to the agent cannot move a
// point unseen: a point never reached stops nothing and the test waiting
// for it fails.
#pragma once

#include <signal.h>

#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>

#include "hvkit/agent/update_step.h"
#include "hvkit/status.h"

namespace hvkit::agent {

enum class StopPoint { kDownloaded, kMidTransfer, kStaged, kCommitting };

class StopPointReporter final : public Reporter {
  public:
    static constexpr const char* kVariable = "HVUPDATE_TEST_STOP_AT";

    // The point named (name); kInvalidArgument naming the variable and the
    // points for any other name.
    static Result<StopPoint> Parse(std::string_view name) {
        for (const Point& p : kPoints) {
            if (p.name == name) return p.point;
        }
        return Error(ErrorCode::kInvalidArgument,
                     std::string(kVariable) + "=" + std::string(name) +
                         ": not a stop point (downloaded, mid-transfer, staged, committing)");
    }

    // The point named by HVUPDATE_TEST_STOP_AT, none when it is unset.
    static Result<std::optional<StopPoint>> PointFromEnvironment() {
        const char* value = getenv(kVariable);
        if (value == nullptr || *value == '\0') return std::optional<StopPoint>();
        HVKIT_ASSIGN_OR_RETURN(StopPoint point, Parse(value));
        return std::optional<StopPoint>(point);
    }

    // Reports to (inner); stops at (point), if any.
    StopPointReporter(Reporter& inner, std::optional<StopPoint> point)
        : inner_(inner), point_(point) {}

    void Step(UpdateStep step, std::string_view what) override {
        inner_.Step(step, what);
        if (point_ && Find(*point_).next_step == step) Stop();
    }

    void Progress(UpdateStep step, uint64_t done, uint64_t total) override {
        inner_.Progress(step, done, total);
        if (point_ == StopPoint::kMidTransfer && step == UpdateStep::kTransfer &&
            done * 2 >= total) {
            Stop();
        }
    }

  private:
    struct Point {
        StopPoint point;
        std::string_view name;
        std::optional<UpdateStep> next_step;  // the step that begins there
    };
    static constexpr Point kPoints[] = {
        {StopPoint::kDownloaded, "downloaded", UpdateStep::kVerify},
        {StopPoint::kMidTransfer, "mid-transfer", std::nullopt},  // by progress
        {StopPoint::kStaged, "staged", UpdateStep::kCommit},
        {StopPoint::kCommitting, "committing", UpdateStep::kSwitch},
    };
    static const Point& Find(StopPoint point) {
        for (const Point& p : kPoints) {
            if (p.point == point) return p;
        }
        return kPoints[0];
    }

    void Stop() {
        if (stopped_) return;
        stopped_ = true;
        std::string name(Find(*point_).name);
        fprintf(stderr, "hvupdate: stopped at %s (%s)\n", name.c_str(), kVariable);
        fflush(stderr);
        raise(SIGSTOP);
    }

    Reporter& inner_;
    std::optional<StopPoint> point_;
    bool stopped_ = false;
};

}  // namespace hvkit::agent
