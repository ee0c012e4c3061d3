#!/usr/bin/env bash
# testhost-keyflips.sh [BUILD_DIR] [FLIPS]: the test host's freeze, reproduced
# on purpose (issue 12, docs/test-host.md "Why the test host froze").
#
# Each KVM VM the test host's kernel creates when none exists, and destroys
# when it was the last, flips a static key (preempt notifiers) that
# __schedule tests: the kernel live-patches that jump label with int3
# (text_poke_bp) while both vCPUs schedule. Under QEMU 7.2's TCG the test
# host then livelocks in the int3 handler. This runs hvkit-kvm-probe (two tiny
# VMs, created and destroyed) FLIPS times (default 200) in one test-host boot
# while one task spins and another sleeps and wakes, writing the count done to
# RESULTS/progress. A freeze ends in the runner's stall detector (60 s), which
# names where both vCPUs were (testhost-registers.txt).
#
# Exit status: 0 all flips done; 125 the test host froze (the count it reached
# is printed); others from the runner. HVKIT_TESTHOST_QEMU picks the QEMU.
set -uo pipefail
cd "$(dirname "$0")/.."

if [ "${1:-}" = --inside ]; then
    flips=$2
    ( while :; do :; done ) &
    spin=$!
    ( while :; do sleep 0.001; done ) &
    sleeper=$!
    for i in $(seq "$flips"); do
        "$HVKIT_KVM_PROBE" >/dev/null 2>&1
        echo "$i" >"$HVKIT_RESULTS/progress"
    done
    kill "$spin" "$sleeper"
    echo "testhost-keyflips: $flips flips done"
    exit 0
fi

build=$(cd "${1:-build/dev}" && pwd)
flips=${2:-200}
[[ $flips =~ ^[1-9][0-9]*$ ]] || { echo "testhost-keyflips.sh: FLIPS must be a positive count" >&2; exit 2; }
results=$build/testhost-keyflips
HVKIT_KVM_PROBE=$build/tests/system/hvkit-kvm-probe \
    tests/system/testhost.sh --stall 60 --timeout $((120 + flips)) --results "$results" -- \
    "$PWD/scripts/testhost-keyflips.sh" --inside "$flips"
rc=$?
echo "testhost-keyflips: $(cat "$results/progress" 2>/dev/null || echo 0) of $flips flips, exit status $rc ($("${HVKIT_TESTHOST_QEMU:-qemu-system-x86_64}" --version | head -n 1))"
exit "$rc"
