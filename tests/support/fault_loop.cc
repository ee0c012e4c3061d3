#include "fault_loop.h"

#include <gtest/gtest.h>

#include <cstring>

namespace hvkit::testing {

namespace {

// A run must end; no operation here makes anywhere near this many calls.
constexpr int kMaxCalls = 20000;

// How a message may say (error): strerror's words, or SQLite's.
bool Says(const std::string& message, int error) {
    if (message.find(strerror(error)) != std::string::npos) return true;
    const char* sqlite = error == ENOSPC ? "database or disk is full" : "disk I/O error";
    return message.find(sqlite) != std::string::npos;
}

}  // namespace

int CutPowerAtEveryCall(const FaultScenario& scenario) {
    for (int n = 1; n < kMaxCalls; ++n) {
        scenario.setup();
        FaultFileSystem fs(scenario.root);
        fs.CutPowerAtCall(n);
        Status reported = scenario.operation(fs);
        bool cut = fs.powered_off();
        SCOPED_TRACE(cut ? "power cut at call " + std::to_string(n) + ": " + fs.Describe(n)
                         : "power cut after the last call (" + std::to_string(n - 1) + ")");
        fs.PowerCut();
        scenario.check(reported.ok());
        if (::testing::Test::HasFatalFailure()) return n;
        if (!cut) return n - 1;
    }
    ADD_FAILURE() << "the operation made more than " << kMaxCalls << " calls";
    return kMaxCalls;
}

int FailEveryCall(const FaultScenario& scenario, int error) {
    for (int n = 1; n < kMaxCalls; ++n) {
        scenario.setup();
        FaultFileSystem fs(scenario.root);
        fs.FailCall(n, error);
        Status reported = scenario.operation(fs);
        bool hit = fs.calls() >= n;
        SCOPED_TRACE(hit ? std::string(strerror(error)) + " at call " + std::to_string(n) + ": " +
                               fs.Describe(n)
                         : "no error: the operation made " + std::to_string(fs.calls()) + " calls");
        if (!reported.ok()) {
            EXPECT_TRUE(hit) << "failed without an injected error: " << reported.message();
            EXPECT_TRUE(Says(reported.message(), error))
                << "the message does not say what failed: " << reported.message();
        }
        fs.PowerCut();
        scenario.check(reported.ok());
        if (::testing::Test::HasFatalFailure()) return n;
        if (!hit) return n - 1;
    }
    ADD_FAILURE() << "the operation made more than " << kMaxCalls << " calls";
    return kMaxCalls;
}

}  // namespace hvkit::testing
