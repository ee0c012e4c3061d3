// What the filter benchmarks' tools share (docs/benchmarks.md, "Filters"):
// the module chain built from a chain file, exactly as a hvfilterd source's
// "chain" names it, checked integer options and the monotonic clock.
#pragma once

#include <cstdint>
#include <string>

#include "hvkit/cli_args.h"
#include "hvkit/filter_chain.h"
#include "hvkit/status.h"

namespace hvkit::bench {

// Prints "(tool): (message)" on stderr and returns (exit_code).
int Fail(const char* tool, const std::string& message, int exit_code);

// The value of integer option (name) in (args), (fallback) when absent.
// Errors name the option and the rule: "--window 0: must be 1..65536".
Result<int64_t> IntegerOption(const cli::Args& args, const std::string& name, int64_t min,
                              int64_t max, int64_t fallback);

// The same for an option that must be given.
Result<int64_t> RequiredInteger(const cli::Args& args, const std::string& name, int64_t min,
                                int64_t max);

// Builds the chain that (chain_path) describes: a JSON array of 1..32 steps
// `{"module": NAME, "params": {...}}` (the shape of a hvfilterd source's
// "chain"; params default to {}), module NAME loaded from
// (modules_dir)/NAME.so and created with its params. Errors name the file,
// the line, the step and the rule, or carry the loader's or the module's.
Result<filters::Chain> LoadChain(const std::string& modules_dir, const std::string& chain_path);

// CLOCK_MONOTONIC in nanoseconds: the same clock in every process and
// network namespace of this kernel.
uint64_t MonotonicNs();

}  // namespace hvkit::bench
