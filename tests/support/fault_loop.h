// Drives an operation through a FaultFileSystem once per call it makes: a
// power cut at its first call, then at its second, ... and once after its
// last; or ENOSPC or EIO injected at each call in turn. After each run the
// power is cut (unsynced writes dropped) and the scenario checks the disk.
#pragma once

#include <functional>
#include <string>

#include "fault_fs.h"
#include "hvkit/status.h"

namespace hvkit::testing {

struct FaultScenario {
    // The tree the FaultFileSystem tracks (an existing directory).
    std::string root;
    // Brings root to the state before the operation (through the real file
    // system: all of it counts as durable when the run starts).
    std::function<void()> setup;
    // The operation under test, through (fs), and what it reported. It
    // must close every file and database under root before it returns.
    std::function<Status(FileSystem& fs)> operation;
    // Looks at root after the power cut (and, for a check after an injected
    // error, the power cut that follows it): (reported_ok) says whether the
    // operation reported success. Recovery, when the code has one, runs here.
    std::function<void(bool reported_ok)> check;
};

// Cuts the power at every call of the operation in turn, then once after
// its last call, checking after each cut. Returns the number of calls the
// uncut operation made.
int CutPowerAtEveryCall(const FaultScenario& scenario);

// Injects (error) (ENOSPC or EIO) at every call of the operation in turn.
// The operation reports a failure whose message says so (strerror's words,
// or SQLite's), or success, when the failed call was one whose failure
// loses nothing (a checkpoint at close): either way the power is then cut
// and (check) must find what the report promises. Returns the number of
// calls.
int FailEveryCall(const FaultScenario& scenario, int error);

}  // namespace hvkit::testing
