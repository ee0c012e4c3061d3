// A ControlTarget for tests: a settable report, and counts of what it was
// asked to do.
#pragma once

#include <atomic>
#include <functional>

#include "control/control.h"

namespace hvkit::hvmm::testing {

// Counts are atomic: a ControlServer calls from its own thread.
class FakeTarget final : public ControlTarget {
  public:
    VmStatusReport Report() const override { return report; }
    Status Pause() override {
        ++pauses;
        if (pause_result.ok()) report.paused = true;
        return pause_result;
    }
    void Resume() override {
        ++resumes;
        report.paused = false;
    }
    void Shutdown() override { ++shutdowns; }
    // (attach) when set, else the base class's refusal.
    Result<FilterAttachment> AttachFilter() override {
        ++attaches;
        return attach ? attach() : ControlTarget::AttachFilter();
    }
    std::function<Result<FilterAttachment>()> attach;
    VmStatusReport report{.paused = false,
                          .vcpus = 2,
                          .memory_bytes = 256ull << 20,
                          .uptime_s = 7,
                          .version = "1.2.3",
                          .devices = {"serial", "i8042"},
                          .committed_version = "",
                          .took_over = Json(),
                          .takeover = Json()};
    Status pause_result = Status::Ok();
    std::atomic<int> pauses{0}, resumes{0}, shutdowns{0}, attaches{0};
};

}  // namespace hvkit::hvmm::testing
