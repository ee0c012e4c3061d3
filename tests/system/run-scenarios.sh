#!/usr/bin/env bash
# run-scenarios.sh [--report-only] SCENARIO... — runs system scenarios one
# after another, in one test-host boot (run it through testhost.sh):
#
#   tests/system/testhost.sh -- tests/system/run-scenarios.sh tests/system/scenarios/*.sh
#
# Each scenario is an executable; it passes with exit status 0, is skipped
# with 77, fails otherwise, and is killed after the seconds its header names
# ("# hvkit-timeout: N"; default HVKIT_SCENARIO_TIMEOUT or 120). It runs with
# stdin closed, in this directory, with this environment plus:
#   HVKIT_SCENARIO_DIR   $HVKIT_RESULTS/scenarios/NAME, empty, writable: what
#                        it leaves there comes back from the test host
#   HVKIT_GUEST_KERNEL, HVKIT_GUEST_INITRD, HVKIT_GUEST_DISK, HVKIT_GUEST_CMDLINE
#                        the guest image, read from $HVKIT_GUEST_ENV if set
# NAME is the file name without its extension. Results per scenario in
# $HVKIT_SCENARIO_DIR: output.log, exit-status, seconds; a summary in
# $HVKIT_RESULTS/scenarios/summary. Exit status 0 if all passed or were
# skipped, else 1; with --report-only 0 whenever every status was recorded
# (ctest then reports each scenario as its own test: scenario-status.sh).
set -uo pipefail

report_only=""
[ "${1:-}" != --report-only ] || { report_only=1; shift; }
results=${HVKIT_RESULTS:?"run-scenarios.sh: HVKIT_RESULTS is not set; run it through tests/system/testhost.sh"}
if [ -n "${HVKIT_GUEST_ENV:-}" ]; then
    [ -f "$HVKIT_GUEST_ENV" ] || { echo "run-scenarios.sh: HVKIT_GUEST_ENV=$HVKIT_GUEST_ENV does not exist (build the images: scripts/images/build-guest.sh)" >&2; exit 1; }
    set -a
    # shellcheck disable=SC1090
    . "$HVKIT_GUEST_ENV"
    set +a
fi

mkdir -p "$results/scenarios"
summary=$results/scenarios/summary
: >"$summary"
failed=0
for scenario in "$@"; do
    name=${scenario##*/}
    name=${name%.*}
    dir=$results/scenarios/$name
    rm -rf "$dir"
    mkdir -p "$dir"
    limit=$(sed -n 's/^# hvkit-timeout: *\([0-9][0-9]*\).*/\1/p' "$scenario" | head -n1)
    limit=${limit:-${HVKIT_SCENARIO_TIMEOUT:-120}}
    echo "=== scenario $name (limit $limit s)"
    t0=$(date +%s.%N)
    HVKIT_SCENARIO_DIR=$dir timeout -k 5 "$limit" "$scenario" </dev/null 2>&1 | tee "$dir/output.log"
    rc=${PIPESTATUS[0]}
    seconds=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
    echo "$seconds" >"$dir/seconds"
    case $rc in
        0) verdict=passed ;;
        77) verdict=skipped ;;
        124) verdict="failed: killed after $limit s"; echo "scenario $name: killed after $limit s" >>"$dir/output.log" ;;
        *) verdict="failed: exit status $rc" ;;
    esac
    echo "$rc" >"$dir/exit-status"
    case $rc in 0 | 77) ;; *) failed=1 ;; esac
    echo "=== scenario $name: $verdict ($seconds s)"
    printf '%-32s %-36s %8s s\n' "$name" "$verdict" "$seconds" >>"$summary"
done
echo "=== summary"
cat "$summary"
[ -n "$report_only" ] && exit 0
exit "$failed"
