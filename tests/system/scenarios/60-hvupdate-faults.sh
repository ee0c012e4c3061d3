#!/bin/bash
# hvkit-timeout: 600
# An update cut short, three ways, on the same host and guest disk; after
# each the host is at the old release or the new one, never a mix, and the
# last apply completes:
#   A. the guest resets itself while the hypervisor's part goes down (the
#      release carries 16 MiB more so the transfer lasts): nothing committed;
#   B. hvmm is killed (SIGKILL) once the hypervisor has staged the release:
#      old or new, whichever the kill found, and a consistent store;
#   C. the agent is killed (SIGKILL) during its transfer, then `hvupdate
#      apply` runs again in the same boot: it finishes or undoes what was cut,
#      and completes. The host has committed 0.1.1, the guest runs its
#      extension, and the history ends with a committed transaction.
set -euo pipefail
source "$(dirname "$0")/../guest-boot.sh"
source "$(dirname "$0")/../update-fixture.sh"

UPDATE_FIXTURE_PAD_MIB=16
update_fixture_begin "$HVKIT_SCENARIO_DIR/w"
update_fixture_serve
trap 'kill -9 ${vmm:-} 2>/dev/null || true; cleanup_update_fixture' EXIT

# start_boot NAME [CMDLINE...]: starts hvmm with the update permission. One
# vCPU: a reset from a 2-vCPU guest stops the other vCPU by IPI and NMI first,
# a path on which the test host's nested KVM once triple-faulted the guest.
start_boot() {
    local name=$1
    shift
    serial=$HVKIT_SCENARIO_DIR/serial-$name.log
    "$HVMM" run --kernel "$HVKIT_GUEST_KERNEL" --initrd "$HVKIT_GUEST_INITRD" \
        --cmdline "$HVKIT_GUEST_CMDLINE hvkit.poweroff=reboot reboot=k hvkit.ip=10.0.2.15/24 hvkit.test=hvupdate $*" \
        --mem 512M --cpus 1 --disk "$DATA_DISK" --net "tap=$TAP" --hvchan --allow-hypervisor-update \
        --state-dir "$STATE" --serial-log "$serial" --serial-input none \
        >"$HVKIT_SCENARIO_DIR/hvmm-$name.log" 2>&1 &
    vmm=$!
}

# store_release [--pending-ok]: sets `release` to what the host's store says
# the next start runs ("none" or the version); fails when the store is not whole: a
# committed release whose binary is missing or reports another version.
# `hvmm --version` reads the journal without recovering it, so right after a
# kill during the commit itself (`current` switched, the journal not yet
# saying so) it says "pending" with --pending-ok: the next start settles it.
store_release() {
    local out version
    out=$("$HVMM" --version --state-dir "$STATE") || fail "hvmm --version --state-dir: $out"
    version=$(sed -n 's/^committed: \([^ ]*\) .*/\1/p' <<<"$out")
    if [ -z "$version" ]; then
        if [ -e "$STATE/current" ]; then
            [ "${1:-}" = --pending-ok ] || fail "nothing committed, yet $STATE/current exists"
            release=pending
        else
            release=none
        fi
        return
    fi
    [ "$("$STATE/current/hypervisor/bin/hvmm" --version | head -n 1)" = "hvmm $version" ] ||
        fail "the store says $version is committed, but current/hypervisor/bin/hvmm is not it"
    cmp -s "$STATE/current/hypervisor/share/pad.bin" "$W/src/pad.bin" ||
        fail "the committed release's pad.bin differs from the package's"
    release=$version
}

# A. the guest resets itself mid-transfer.
start_boot reset hvkit.fault=reset
wait_for_guest "$vmm"
[ "$status" = 0 ] || fail "hvmm (A) exited with status $status: $(cat "$HVKIT_SCENARIO_DIR/hvmm-reset.log")"
tr -d '\r' <"$serial" >"$serial.txt"
grep -q '^hvupdate-hook: resetting the guest after: hvupdate: transferring' "$serial.txt" ||
    fail "(A) the guest did not reset during the transfer"
store_release
[ "$release" = none ] || fail "(A) a release was committed though the transfer was cut"
echo "A. guest reset during the transfer: nothing committed"

# B. hvmm killed once the hypervisor has staged the release.
start_boot kill-hvmm
b_started=$SECONDS
until grep -qE 'hvupdate: (installing the guest extensions|committing)' "$serial" 2>/dev/null; do
    kill -0 "$vmm" 2>/dev/null || fail "(B) hvmm ended before the release was staged: $(cat "$HVKIT_SCENARIO_DIR/hvmm-kill-hvmm.log")"
    ((SECONDS - b_started < 300)) || fail "(B) the release was not staged within 300 s"
    sleep 0.1
done
kill -9 "$vmm"
wait "$vmm" 2>/dev/null || true
tr -d '\r' <"$serial" >"$serial.txt"
store_release --pending-ok
after_b=$release
case $after_b in
    none | pending | 0.1.1) ;;
    *) fail "(B) the store is at $after_b, neither the old release nor 0.1.1" ;;
esac
echo "B. hvmm killed after staging, at: $(grep '^hvupdate' "$serial.txt" | tail -n 1); the store: $after_b"

# C. the agent killed mid-transfer, then apply again; the next start of hvmm
# (this one) also finishes or undoes whatever B cut.
start_boot kill-agent hvkit.fault=kill-agent
wait_for_guest "$vmm"
[ "$status" = 0 ] || fail "hvmm (C) exited with status $status: $(cat "$HVKIT_SCENARIO_DIR/hvmm-kill-agent.log")"
tr -d '\r' <"$serial" >"$serial.txt"
grep '^hvupdate' "$serial.txt" || true
if [ "$after_b" = none ]; then
    grep -q '^hvupdate-hook: killed the agent after: hvupdate: transferring' "$serial.txt" ||
        fail "(C) the agent was not killed during the transfer"
fi
grep -qx 'hvupdate-hook: apply exit 0' "$serial.txt" || fail "(C) the apply after the faults did not complete"
grep -q 'hvupdate-hook: extension says: hello from 0.1.1' "$serial.txt" ||
    fail "(C) the guest extension of 0.1.1 is not installed"
store_release
[ "$release" = 0.1.1 ] || fail "(C) the host has not committed 0.1.1"
history=$(grep '^hvupdate-history: ' "$serial.txt")
grep -q '"state": *"committed"' <<<"$history" || fail "(C) the history has no committed transaction"
echo "C. agent killed during the transfer, apply again: committed 0.1.1"
echo "PASS"
