#!/usr/bin/env bash
# hvkit-timeout: 180
# QEMU with -accel kvm boots the hvkit guest image (before hvmm exists, this
# proves nested KVM and the image): the guest reaches its init, brings up
# eth0 with the address from the command line, mounts the data disk, runs
# its hooks (one runs an extra binary with its copied libraries) and powers
# off. Times the boot to "hvkit-guest: init reached".
set -euo pipefail
source "$(dirname "$0")/../lib/guest-boot.sh"
require_set --hint "HVKIT_GUEST_ENV names the guest image's guest.env" \
    HVKIT_GUEST_KERNEL HVKIT_GUEST_INITRD HVKIT_GUEST_DISK HVKIT_GUEST_CMDLINE
command -v qemu-system-x86_64 >/dev/null || fail "no qemu-system-x86_64 (scripts/setup.sh installs it)"

serial=$HVKIT_SCENARIO_DIR/guest-serial.log
t0=$(date +%s.%N)
qemu-system-x86_64 -accel kvm -cpu host -m 256 -smp 1 \
    -nodefaults -no-user-config -display none -no-reboot \
    -serial "file:$serial" \
    -kernel "$HVKIT_GUEST_KERNEL" -initrd "$HVKIT_GUEST_INITRD" \
    -append "$HVKIT_GUEST_CMDLINE hvkit.ip=10.0.2.15/24 hvkit.gw=10.0.2.2" \
    -drive "file=$HVKIT_GUEST_DISK,format=raw,if=virtio,snapshot=on" \
    -netdev user,id=n0 -device virtio-net-pci,netdev=n0 \
    >"$HVKIT_SCENARIO_DIR/qemu.log" 2>&1 &
qemu=$!
trap 'kill $qemu 2>/dev/null || true' EXIT

wait_for_guest "$qemu"
[ "$status" = 0 ] || fail "QEMU exited with status $status ($(cat "$HVKIT_SCENARIO_DIR/qemu.log"))"
[ -n "$reached" ] || fail "the guest never printed 'hvkit-guest: init reached'"

tr -d '\r' <"$serial" >"$serial.txt"
grep '^hvkit-guest' "$serial.txt"
for line in \
    'hvkit-guest: eth0 10.0.2.15/24 up, default route via 10.0.2.2' \
    'hvkit-guest: /data: /dev/vda mounted read-write' \
    'hvkit-guest-selfcheck: data disk says: hvkit data disk' \
    'hvkit-guest-selfcheck: kvm-probe: verdict: no-kvm' \
    'hvkit-guest: hook 10-selfcheck exited with status 0' \
    'hvkit-guest: poweroff now'; do
    grep -qxF "$line" "$serial.txt" || fail "the guest did not print '$line'"
done
record_timing guest "$t0"
echo "guest reached init $to_init s after QEMU started; powered off at $total s"
echo "PASS"
