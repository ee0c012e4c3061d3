# shellcheck shell=bash
# Shared by the scenarios that boot a guest (sourced, not run): waiting for
# a VMM to end while noting when the guest reached init, and the timing
# record; with common.sh's `fail`, which ends with the guest's serial log.
#
# Set `serial` (the guest's serial log) before calling these.
# shellcheck source=SCRIPTDIR/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

# wait_for_guest PID: waits for the VMM process PID to end; sets `reached`
# (when "hvkit-guest: init reached" appeared on the serial log, or empty),
# `ended` and `status` (the VMM's exit status). A guest that has not reached
# init after HVKIT_INIT_DEADLINE seconds (default 240; a boot takes 20-40 s
# in the test host) is stuck: the VMM is killed and the scenario fails at
# once, with the host kernel's soft-lockup reports if it has any (nested SVM
# under TCG has soft-locked a vCPU thread in KVM_RUN under heavy load).
wait_for_guest() {
    local pid=$1 started=$SECONDS
    reached=""
    while kill -0 "$pid" 2>/dev/null; do
        if [ -z "$reached" ] && grep -q '^hvkit-guest: init reached' "$serial" 2>/dev/null; then
            reached=$(date +%s.%N)
        fi
        if [ -z "$reached" ] && ((SECONDS - started > ${HVKIT_INIT_DEADLINE:-240})); then
            kill -9 "$pid" 2>/dev/null || true
            wait "$pid" 2>/dev/null || true
            local lockups
            lockups=$(dmesg 2>/dev/null | grep -E 'soft lockup.*\[hvmm' | tail -n 3)
            fail "the guest did not reach init within ${HVKIT_INIT_DEADLINE:-240} s; VMM killed${lockups:+; the host kernel reports: $lockups}"
        fi
        sleep 0.2
    done
    status=0
    wait "$pid" || status=$?
    ended=$(date +%s.%N)
    if [ -z "$reached" ] && grep -q '^hvkit-guest: init reached' "$serial" 2>/dev/null; then
        reached=$ended
    fi
}

# record_timing PREFIX START: writes PREFIX_to_init_s and PREFIX_total_s to
# $HVKIT_SCENARIO_DIR/timing and sets `to_init` and `total` (seconds).
record_timing() {
    to_init=$(awk -v a="$2" -v b="$reached" 'BEGIN { printf "%.1f", b - a }')
    total=$(awk -v a="$2" -v b="$ended" 'BEGIN { printf "%.1f", b - a }')
    printf '%s_to_init_s=%s\n%s_total_s=%s\n' "$1" "$to_init" "$1" "$total" >"$HVKIT_SCENARIO_DIR/timing"
}
