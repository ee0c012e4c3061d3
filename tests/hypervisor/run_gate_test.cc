// The run gate without KVM: threads park on a closed gate (WaitParked counts
// them), Open and Stopping release them, and a stopping gate parks nobody.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "hvmm.h"

namespace hvkit::hvmm {
namespace {

TEST(RunGate, ThreadsParkWhileClosedAndRunWhenOpened) {
    RunGate gate;
    gate.Start(2);
    gate.Close();
    std::atomic<int> passed{0};
    auto vcpu = [&] {
        gate.ParkWhileClosed();
        ++passed;
    };
    std::thread a(vcpu), b(vcpu);
    EXPECT_TRUE(gate.WaitParked());  // returns only once both are parked
    EXPECT_EQ(passed.load(), 0);
    gate.Open();
    a.join();
    b.join();
    EXPECT_EQ(passed.load(), 2);
    gate.ParkWhileClosed();  // open: returns at once
}

TEST(RunGate, StoppingReleasesParkedThreadsAndWaiters) {
    RunGate gate;
    gate.Start(2);
    gate.Close();
    std::thread parked([&] { gate.ParkWhileClosed(); });
    std::atomic<bool> wait_result{true};
    std::thread waiter([&] { wait_result = gate.WaitParked(); });  // the 2nd never parks
    gate.Stopping();
    parked.join();
    waiter.join();
    EXPECT_FALSE(wait_result.load());
    EXPECT_TRUE(gate.closed());
    gate.ParkWhileClosed();  // stopping: nobody parks any more
}

TEST(RunGate, AThreadThatLeftIsNotWaitedFor) {
    RunGate gate;
    gate.Start(2);
    gate.Close();
    std::thread parked([&] { gate.ParkWhileClosed(); });
    gate.Left();
    EXPECT_TRUE(gate.WaitParked());
    EXPECT_TRUE(gate.WaitParked(1));  // a vCPU thread pausing waits for the others only
    gate.Open();
    parked.join();
}

}  // namespace
}  // namespace hvkit::hvmm
