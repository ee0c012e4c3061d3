#!/usr/bin/env bash
# hvkit-timeout: 480
# A committed release whose new hvmm fails its trial (docs/live-takeover.md,
# "The trial"): the update of 50-hvupdate-apply, but hvmm 0.1.1 dies once it
# restored the guest's state, before the commit point (it inherits
# HVMM_TEST_TAKEOVER_CRASH=new-restored from the hvmm 0.1.0 that starts it).
# Then: hvmm 0.1.0 resumes the guest, which runs on in it to its end (exit 0,
# never handed over, booted once); the store drops 0.1.1 and journals the
# failed trial (`hvmm --version --state-dir`: nothing committed, "last
# trial: 0.1.1 failed"); the guest's `hvupdate apply` fails naming the
# trial, its history says failed, and no extension of 0.1.1 switched in.
set -euo pipefail
source "$(dirname "$0")/../lib/guest-boot.sh"
source "$(dirname "$0")/../lib/update-fixture.sh"

echo "== publisher: release 0.1.1 signed and published over TUF"
make_update_fixture "$HVKIT_SCENARIO_DIR/w"   # sets W, STATE, DATA_DISK, TAP, REPO_PID
sock=""
cleanup() {
    kill ${vmm:-} 2>/dev/null || true
    if [ -n "$sock" ]; then
        "$HVMM" control "$sock" shutdown >/dev/null 2>&1 || true
        rm -rf "${sock%/*}"
    fi
    cleanup_update_fixture
}
trap cleanup EXIT
echo "== hvmm 0.1.0 boots the guest; its successors die at new-restored; in the guest: hvupdate apply"
sock=$(mktemp -d "${TMPDIR:-/tmp}/hvkit-vm.XXXXXX")/vm.sock
export HVMM_TEST_TAKEOVER_CRASH=new-restored
start_update_vm trial-fails "hvkit.test=hvupdate hvkit.takeover=1" --allow-hypervisor-update \
    --state-dir "$STATE" --control "$sock"
unset HVMM_TEST_TAKEOVER_CRASH
wait_for_guest "$vmm"
[ "$status" = 0 ] || fail "hvmm 0.1.0 exited $status, not 0 (the guest's own reset): $(cat "$vmm_log")"
vmm=""
tr -d '\r' <"$serial" >"$serial.txt"
grep -E '^(hvupdate|apply: |hypervisor: |guest extensions: )' "$serial.txt" || true
grep -E '^hvmm: (takeover|VM stopped)' "$vmm_log" || true

grep -q 'hvmm: takeover by .* failed; the guest runs on here: takeover: restore' "$vmm_log" ||
    fail "hvmm 0.1.0 did not fall back at the restore: $(cat "$vmm_log")"
grep -q 'hvmm: VM stopped: guest reset' "$vmm_log" || fail "hvmm 0.1.0 did not run the guest to its end"
grep -q 'handed the guest over' "$vmm_log" && fail "hvmm 0.1.0 handed the guest over"
[ "$(grep -c '^hvkit-guest: init reached' "$serial.txt")" = 1 ] || fail "the guest restarted"
grep -q "the hypervisor's trial of 0.1.1 failed" "$serial.txt" ||
    fail "hvupdate apply does not name the failed trial"
grep -qx 'hvupdate-hook: apply exit 0' "$serial.txt" && fail "hvupdate apply succeeded"
grep -q '^hvupdate-history: .*"state": *"failed"' "$serial.txt" ||
    fail "hvupdate history does not show the failed transaction"
grep -q 'hvupdate-hook: extension says' "$serial.txt" && fail "an extension of 0.1.1 switched in"

echo "== host: the store dropped 0.1.1"
version_out=$("$HVMM" --version --state-dir "$STATE")
echo "$version_out"
grep -q '^committed:' <<<"$version_out" && fail "the store committed a release whose trial failed"
grep -q '^last trial: 0.1.1 failed: ' <<<"$version_out" ||
    fail "hvmm --version does not report 0.1.1's trial failed"
[ ! -e "$STATE/current" ] || fail "the store has a current release: $(readlink "$STATE/current")"
echo "PASS"
