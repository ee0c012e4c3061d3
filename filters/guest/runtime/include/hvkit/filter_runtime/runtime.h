// The guest's filter runtime (docs/filter-modules.md, "The runtime"): it
// attaches to the filter region hvfilterd formatted, runs every request
// through the module chain the region's chain table names for it, and
// publishes the verdicts. The chains run in a forked worker (chain_worker):
// a module that crashes costs the items the worker held, which the host's
// policies answer at their deadline, and the runtime starts a new worker
// after a back-off. A region the host formats again (hvfilterd restarted)
// is found by its format id and attached to afresh.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "hvkit/filter_runtime/region_device.h"
#include "hvkit/json.h"
#include "hvkit/status.h"

namespace hvkit::filter_runtime {

struct RuntimeOptions {
    std::vector<std::string> module_dirs;  // where NAME.so is looked for, in order
    size_t window = 256;                   // items in the worker at once
    // The status file (JSON, replaced atomically at most once a second); "" for none.
    std::string status_path;
    std::chrono::milliseconds idle_check{250};  // how often an idle runtime checks the format
    // After the last request or reply, keep looking at the rings (yielding
    // the CPU between looks) this long before arming the doorbell and
    // sleeping: under load the host's requests are then found without an
    // interrupt, whose delivery, EOI and INTx unmasking cost VM exits.
    std::chrono::microseconds busy_poll{20000};
};

struct RuntimeStats {
    uint64_t attaches = 0;         // formats attached to
    uint64_t refused_formats = 0;  // formats not served: their chain table was refused
    uint64_t requests = 0;         // requests taken off the ring
    uint64_t expired = 0;  // dropped unsent: their budget passed (the host's policy decided)
    uint64_t passed = 0, dropped = 0, changed = 0;  // verdicts published
    uint64_t undecided = 0;  // chain errors: no verdict (the host's policy decides)
    uint64_t worker_starts = 0;
    uint64_t worker_failures = 0;  // workers that crashed, or refused to start
    uint64_t abandoned = 0;        // items a failed worker held (the host's policy decides)
};

class FilterRuntime {
  public:
    FilterRuntime(std::unique_ptr<RegionDevice> device, RuntimeOptions options);
    ~FilterRuntime();
    FilterRuntime(const FilterRuntime&) = delete;
    FilterRuntime& operator=(const FilterRuntime&) = delete;

    // Serves the region until (stop_fd) becomes readable. Errors only for
    // what it cannot go on without (poll failing); everything the host or a
    // module does wrong is counted, logged and survived.
    Status Run(int stop_fd);

    const RuntimeStats& stats() const;
    // stats() with "attached", "format_id", "chains", "worker_pid", "last_problem".
    Json StatsJson() const;

  private:
    struct State;
    std::unique_ptr<State> state_;
};

}  // namespace hvkit::filter_runtime
