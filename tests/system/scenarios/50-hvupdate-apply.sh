#!/usr/bin/env bash
# hvkit-timeout: 480
# The update end to end: a publisher signs a release (hvmm-next, version
# 0.1.1, and a guest extension) and publishes it in a TUF repository served
# on the test host; the guest, booted by hvmm 0.1.0 with the update
# permission, runs `hvupdate apply`: it downloads the package through its own
# network (virtio-net on a TAP), verifies it, hands the hypervisor's part to
# hvmm over hvchan, installs the extension on its disk and commits. The
# commit puts 0.1.1 on trial: hvmm 0.1.0 hands the running guest to hvmm
# 0.1.1 at once (live takeover), which passes once the guest answers on
# hvchan (hvupdate polls for the verdict); only then is 0.1.1 committed and
# 0.1.0 exits 5. The guest, never restarted, reads 0.1.1 over hvchan. Then: the
# host's committed release is 0.1.1, `hvmm --version` says so, the guest's
# disk has the extension and the history, the release's filter modules
# (redact.so, a signature file) decide a sample through `hvagent scan` from
# the installed extension, and the next start — hvmm from the store's
# `current` — is 0.1.1, as the guest reads over hvchan.
set -euo pipefail
source "$(dirname "$0")/../lib/guest-boot.sh"
source "$(dirname "$0")/../lib/update-fixture.sh"

echo "== publisher: release 0.1.1 (hvmm 0.1.1 and a guest extension) signed and published over TUF"
make_update_fixture "$HVKIT_SCENARIO_DIR/w"   # sets W, STATE, DATA_DISK, TAP, REPO_PID
echo "== host: the release store trusts the publisher's key; hvmm today:"
"$HVMM" --version --state-dir "$STATE"
echo "== hvmm 0.1.0 boots the Debian guest (hvchan, update permission); in it: hvupdate check, apply, history"
sock=""
cleanup() {
    kill ${vmm:-} 2>/dev/null || true
    if [ -n "$sock" ]; then
        "$HVMM" control "$sock" shutdown >/dev/null 2>&1 || true  # a successor still running
        rm -rf "${sock%/*}"
    fi
    cleanup_update_fixture
}
trap cleanup EXIT
t0=$(date +%s.%N)
# A local directory: the results share (9p) cannot hold a socket.
sock=$(mktemp -d "${TMPDIR:-/tmp}/hvkit-vm.XXXXXX")/vm.sock
start_update_vm apply "hvkit.test=hvupdate hvkit.takeover=1" --allow-hypervisor-update \
    --state-dir "$STATE" --control "$sock"
# The guest's commit hands it to hvmm 0.1.1 on trial; 0.1.0 exits 5 once the
# trial passed (docs/live-takeover.md).
deadline=$((SECONDS + ${HVKIT_INIT_DEADLINE:-240} + 300))
while kill -0 "$vmm" 2>/dev/null; do
    ((SECONDS < deadline)) || fail "hvmm 0.1.0 still runs: the apply or the takeover did not finish"
    sleep 0.5
done
first_status=0
wait "$vmm" || first_status=$?
vmm=""
[ "$first_status" = 5 ] || fail "hvmm 0.1.0 exited $first_status, not 5 (handed over): $(cat "$vmm_log")"
status_out=$("$HVMM" control "$sock" status) || fail "nobody answers the control socket after the takeover"
echo "== the guest committed 0.1.1 and runs on in hvmm 0.1.1: $status_out"
grep -q '"version":"0.1.1"' <<<"$status_out" || fail "the successor is not hvmm 0.1.1"
grep -q '"from_version":"0.1.0"' <<<"$status_out" || fail "the successor did not take over from 0.1.0"
grep -q '"trial":"passed"' <<<"$status_out" || fail "the successor's trial did not pass"
grep -q 'hvmm: passed the trial' "$vmm_log" || fail "hvmm 0.1.1 did not report its trial passed: $(cat "$vmm_log")"
successor=$(sed -n 's/.*"pid":\([0-9]*\).*/\1/p' <<<"$status_out")
while kill -0 "$successor" 2>/dev/null; do sleep 1; done
grep -q 'hvmm: VM stopped: guest reset' "$vmm_log" || fail "hvmm 0.1.1 did not end with the guest's reset: $(cat "$vmm_log")"
tr -d '\r' <"$serial" >"$serial.txt"
grep '^hvupdate-hook: the hypervisor is now' "$serial.txt" || true
grep -q '^hvupdate-hook: the hypervisor is now 0.1.1,' "$serial.txt" ||
    fail "the guest did not see hypervisor 0.1.1 after the takeover"
[ "$(grep -c '^hvkit-guest: init reached' "$serial.txt")" = 1 ] || fail "the guest restarted"
grep -E '^(hvupdate|apply: |installed |hypervisor: |guest extensions: )' "$serial.txt" || true
grep -qx 'hvupdate-hook: apply exit 0' "$serial.txt" || fail "hvupdate apply failed"
grep -q 'apply: 0.1.0 -> 0.1.1' "$serial.txt" || fail "hvupdate did not report 0.1.0 -> 0.1.1"
grep -q 'hvupdate-hook: extension says: hello from 0.1.1' "$serial.txt" ||
    fail "the guest extension of 0.1.1 is not installed"
grep -q '"state": *"committed"' "$serial.txt" || fail "hvupdate history shows no committed transaction"
# The release's filter modules arrived as guest extensions and the module
# runtime uses them: redact.so from the extension, update.sigs's signature.
grep -qx 'hvupdate-filters: module redact: /data/ext/current/filters/redact.so' "$serial.txt" ||
    fail "the guest did not load redact.so from the installed extension"
grep -qx 'hvupdate-filters: /tmp/filter-sample: drop by signature (signature release-0.1.1)' "$serial.txt" ||
    fail "the extension's signature file (release-0.1.1) did not decide the sample"

# The host: committed 0.1.1, and `hvmm --version` says so.
echo "== host: after the guest's apply"
version_out=$("$HVMM" --version --state-dir "$STATE")
echo "$version_out"
grep -q '^committed: 0.1.1 ' <<<"$version_out" || fail "hvmm --version does not report 0.1.1 committed"
grep -qx 'last trial: 0.1.1 passed' <<<"$version_out" || fail "hvmm --version does not report 0.1.1's trial passed"
next=$STATE/current/hypervisor/bin/hvmm
[ -x "$next" ] || fail "no hvmm at $next"
[ "$("$next" --version | head -1)" = "hvmm 0.1.1" ] || fail "current/hypervisor/bin/hvmm is not 0.1.1"

# The guest's disk keeps the history (read from the image on the host).
debugfs -R 'ls -l /ext/versions' "$DATA_DISK" 2>/dev/null | grep -q '0.1.1' ||
    fail "the data disk has no /ext/versions/0.1.1"

# The next start runs the committed release: the guest reads it over hvchan.
echo "== the next start runs the committed hvmm; its guest asks it its version over hvchan"
serial=$HVKIT_SCENARIO_DIR/serial-next.log
"$next" run --kernel "$HVKIT_GUEST_KERNEL" --initrd "$HVKIT_GUEST_INITRD" \
    --cmdline "$HVKIT_GUEST_CMDLINE hvkit.poweroff=reboot reboot=k" --mem 256M --cpus 1 --hvchan \
    --serial-log "$serial" --serial-input none >"$HVKIT_SCENARIO_DIR/hvmm-next.log" 2>&1 &
vmm=$!
wait_for_guest "$vmm"
[ "$status" = 0 ] || fail "the committed hvmm exited with $status: $(cat "$HVKIT_SCENARIO_DIR/hvmm-next.log")"
tr -d '\r' <"$serial" >"$serial.txt"
grep -q '^hvchan-probe: hypervisor 0.1.1 ' "$serial.txt" ||
    fail "the guest of the next start does not see hypervisor 0.1.1"
grep '^hvchan-probe: hypervisor' "$serial.txt"
record_timing hvupdate "$t0"
echo "PASS"
