#!/usr/bin/env bash
# hvkit-timeout: 240
# hvmm boots the hvkit guest image (Debian's stock kernel, the busybox
# initramfs) with 2 vCPUs on the test host's nested KVM: the guest reaches its
# init, runs its hooks, sees both vCPUs online, and resets through the i8042,
# which ends hvmm with status 0. Times hvmm start to init, as
# 10-qemu-guest.sh does for QEMU (side by side in the same run).
set -euo pipefail
source "$(dirname "$0")/../lib/guest-boot.sh"
require_set HVKIT_GUEST_KERNEL HVKIT_GUEST_INITRD HVKIT_GUEST_CMDLINE HVKIT_BUILD_DIR
hvmm=$HVKIT_BUILD_DIR/hypervisor/hvmm
[ -x "$hvmm" ] || fail "no hvmm at $hvmm (build the tree first)"

serial=$HVKIT_SCENARIO_DIR/hvmm-serial.log
# hvmm has no ACPI power-off yet: the guest reboots through the i8042 (reboot=k).
cmdline="$HVKIT_GUEST_CMDLINE hvkit.poweroff=reboot reboot=k"
t0=$(date +%s.%N)
"$hvmm" run --kernel "$HVKIT_GUEST_KERNEL" --initrd "$HVKIT_GUEST_INITRD" \
    --cmdline "$cmdline" --mem 256M --cpus 2 --serial-log "$serial" \
    >"$HVKIT_SCENARIO_DIR/hvmm.log" 2>&1 &
vmm=$!
trap 'kill $vmm 2>/dev/null || true' EXIT

wait_for_guest "$vmm"
[ "$status" = 0 ] || fail "hvmm exited with status $status: $(cat "$HVKIT_SCENARIO_DIR/hvmm.log")"
[ -n "$reached" ] || fail "the guest never printed 'hvkit-guest: init reached'"

tr -d '\r' <"$serial" >"$serial.txt"
grep '^hvkit-guest' "$serial.txt"
grep -qE '^hvkit-guest-selfcheck: kernel .*, 2 cpu\(s\)$' "$serial.txt" ||
    fail "the guest does not see 2 vCPUs online"
grep -qxF 'hvkit-guest: hook 10-selfcheck exited with status 0' "$serial.txt" ||
    fail "the guest's hook did not run to completion"
grep -q 'guest reset' "$HVKIT_SCENARIO_DIR/hvmm.log" ||
    fail "hvmm did not report the guest's reset: $(cat "$HVKIT_SCENARIO_DIR/hvmm.log")"
record_timing hvmm "$t0"
echo "hvmm: guest reached init $to_init s after hvmm started; reset at $total s"
echo "PASS"
