#!/usr/bin/env bash
# testhost-rounds.sh N [BUILD_DIR]: runs the system scenarios N times in a
# row (one test-host boot each, no reruns) and tallies how each round went,
# for docs/test-host.md's failure rates (issue 12). BUILD_DIR is a configured
# and built tree (default build/ci, the test command's). Appends one line a
# round to BUILD_DIR/testhost-rounds.tsv:
#   round  start  qemu-version  outcome  detail
# outcome: pass; hvkit (a scenario failed on its own); testhost (QEMU reset
# or hung: testhost.sh 124/125, or a guest soft lockup or triple fault, the
# failures run-system.sh otherwise boots again for).
set -uo pipefail
rounds=${1:?usage: testhost-rounds.sh N [BUILD_DIR]}
build=$(cd "${2:-build/ci}" && pwd)
results=$build/tests/system/testhost-results
tally=$build/testhost-rounds.tsv
qemu=$(qemu-system-x86_64 --version | head -1 | sed 's/^QEMU emulator version //')

for round in $(seq 1 "$rounds"); do
    start=$(date -u +%FT%TZ)
    HVKIT_TESTHOST_RERUNS=0 ctest --test-dir "$build" -L system >"$build/testhost-round-$round.log" 2>&1
    first=$(cat "$results/first-boot-status" 2>/dev/null || echo missing)
    outcome=pass detail=""
    for dir in "$results"/scenarios/*/; do
        [ -d "$dir" ] || continue
        name=$(basename "$dir")
        status=$(cat "$dir/exit-status" 2>/dev/null || echo none)
        [ "$status" = 0 ] && continue
        if grep -qE 'host kernel reports:.*soft lockup|VM stopped: guest triple fault' "$dir/output.log" 2>/dev/null; then
            outcome=testhost
            detail+="$name:$(grep -oE 'soft lockup|guest triple fault' "$dir/output.log" | head -1) "
        else
            [ "$outcome" = testhost ] || outcome=hvkit
            detail+="$name:exit-$status "
        fi
    done
    case $first in
        124 | 125) outcome=testhost detail+="testhost.sh:$first" ;;
    esac
    printf '%s\t%s\t%s\t%s\t%s\n' "$round" "$start" "$qemu" "$outcome" "${detail% }" | tee -a "$tally"
done
echo "tally ($qemu):"
awk -F'\t' -v q="$qemu" '$3 == q {n[$4]++} END {for (k in n) printf "  %s %d\n", k, n[k]}' "$tally"
