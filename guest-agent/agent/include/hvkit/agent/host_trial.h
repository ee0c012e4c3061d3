// The hypervisor's trial of a release the guest committed (hvchan
// HVCHAN_UPDATE_TRIAL; docs/live-takeover.md, "The trial"): the new hvmm
// takes this VM over and waits for it to answer on hvchan. Polling the
// host's update status is that answer, and brings the verdict.
#pragma once

#include <chrono>
#include <string>

#include "hvkit/agent/update_host.h"
#include "hvkit/status.h"

namespace hvkit::agent {

// How long the guest waits for a verdict: the takeover and the trial's own
// deadline, with room for a slow host.
inline constexpr std::chrono::seconds kHostTrialWait{600};

// Waits while the host has (version) on trial. Ok when it is not (or no
// longer) on trial and the host did not fail it; kRefused naming the
// version and the host's reason when the trial failed (the host runs its
// previous release on); kNetwork when no verdict came within (wait).
Status AwaitHostTrial(UpdateHost& host, const std::string& version,
                      std::chrono::milliseconds wait = kHostTrialWait,
                      std::chrono::milliseconds poll = std::chrono::milliseconds(100));

}  // namespace hvkit::agent
