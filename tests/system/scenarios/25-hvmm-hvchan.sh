#!/usr/bin/env bash
# hvkit-timeout: 300
# hvchan from guest userspace on hvmm: the guest finds the device in sysfs,
# maps its BARs and reads the hypervisor's version with the info call (it
# must be this hvmm's); then hvchan-hammer makes thousands of hostile calls
# (out-of-range and overflowing offsets and lengths, unknown calls, narrow
# and read-only register accesses), each must get its error status, and the
# channel must still answer; hvmm must keep running and end cleanly with the
# guest's reset. Records hvchan-bench's round trip next to a port-I/O exit.
set -euo pipefail
source "$(dirname "$0")/../lib/guest-boot.sh"
require_set HVKIT_GUEST_KERNEL HVKIT_GUEST_INITRD HVKIT_GUEST_CMDLINE HVKIT_BUILD_DIR
hvmm=$HVKIT_BUILD_DIR/hypervisor/hvmm
[ -x "$hvmm" ] || fail "no hvmm at $hvmm (build the tree first)"
version=$("$hvmm" --version | awk '{print $2}')

serial=$HVKIT_SCENARIO_DIR/hvmm-serial.log
cmdline="$HVKIT_GUEST_CMDLINE hvkit.poweroff=reboot reboot=k hvkit.test=hvchan"
t0=$(date +%s.%N)
"$hvmm" run --kernel "$HVKIT_GUEST_KERNEL" --initrd "$HVKIT_GUEST_INITRD" \
    --cmdline "$cmdline" --mem 256M --cpus 2 --hvchan --serial-log "$serial" \
    >"$HVKIT_SCENARIO_DIR/hvmm.log" 2>&1 &
vmm=$!
trap 'kill $vmm 2>/dev/null || true' EXIT

wait_for_guest "$vmm"
[ "$status" = 0 ] || fail "hvmm exited with status $status: $(cat "$HVKIT_SCENARIO_DIR/hvmm.log")"
tr -d '\r' <"$serial" >"$serial.txt"
grep -E '^(hvchan-|hvkit-guest: hook 20)' "$serial.txt" || true
grep -qE "^hvchan-probe: device 0000:00:02\.0, ABI 0\.[0-9]+$" "$serial.txt" ||
    fail "the guest did not find hvchan at 00:02.0"
grep -qF "hvchan-probe: hypervisor $version (" "$serial.txt" ||
    fail "the guest did not read hvmm's version ($version) through the info call"
grep -qE '^hvchan-hammer: PASS' "$serial.txt" || fail "the hostile-input hammer did not pass"
grep -qxF 'hvkit-guest: hook 20-hvchan exited with status 0' "$serial.txt" ||
    fail "the hvchan hook failed"
grep -q 'guest reset' "$HVKIT_SCENARIO_DIR/hvmm.log" ||
    fail "hvmm did not keep running to the guest's reset: $(cat "$HVKIT_SCENARIO_DIR/hvmm.log")"
grep -E '^hvchan-bench: ' "$serial.txt" >"$HVKIT_SCENARIO_DIR/hvchan-bench.txt" ||
    fail "hvchan-bench printed nothing"
record_timing hvmm_hvchan "$t0"
echo "PASS"
