#!/usr/bin/env bash
# scenario-status.sh RESULTS NAME — one ctest test per system scenario: prints
# what scenario NAME printed in the test-host run whose results are in
# RESULTS (run-scenarios.sh) and exits with its status (77: skipped).
set -euo pipefail
results=${1:?usage: scenario-status.sh RESULTS NAME}
name=${2:?usage: scenario-status.sh RESULTS NAME}
dir=$results/scenarios/$name
if [ ! -f "$dir/exit-status" ]; then
    echo "scenario $name did not run: the test-host run stopped before it (see system.testhost's output, $results/output.log and $results/serial.log)" >&2
    exit 1
fi
cat "$dir/output.log"
rc=$(cat "$dir/exit-status")
echo "scenario $name: exit status $rc after $(cat "$dir/seconds") s (results: $dir)"
exit "$rc"
