#!/usr/bin/env bash
# hvkit-timeout: 300
# hvmm with --disk on a copy of the guest's data disk: the guest finds
# virtio-blk behind virtio-pci (MSI-X), mounts /dev/vda on /data, reads the
# marker file and writes a file of known content (guest-hooks/30-disk-write);
# after hvmm exits the file is read back from the image with debugfs and the
# file system checked. While the guest runs, a second hvmm on the same image
# must fail with the lock message; a missing image fails by name. A second
# boot with ,ro mounts /data read-only and leaves the image unchanged.
set -euo pipefail
source "$(dirname "$0")/../lib/guest-boot.sh"
require_set HVKIT_GUEST_KERNEL HVKIT_GUEST_INITRD HVKIT_GUEST_CMDLINE HVKIT_GUEST_DISK HVKIT_BUILD_DIR
hvmm=$HVKIT_BUILD_DIR/hypervisor/hvmm
[ -x "$hvmm" ] || fail "no hvmm at $hvmm (build the tree first)"

work=$(mktemp -d)
image=$work/data.ext4
cp "$HVKIT_GUEST_DISK" "$image"
serial=$HVKIT_SCENARIO_DIR/hvmm-serial.log
boot=(run --kernel "$HVKIT_GUEST_KERNEL" --initrd "$HVKIT_GUEST_INITRD" --mem 256M)

if "$hvmm" "${boot[@]}" --disk "$work/missing.img" >"$work/missing.log" 2>&1; then
    fail "hvmm started with a missing disk image"
fi
grep -q "cannot open disk $work/missing.img" "$work/missing.log" ||
    fail "a missing image was not reported by name: $(cat "$work/missing.log")"

cmdline="$HVKIT_GUEST_CMDLINE hvkit.poweroff=reboot reboot=k hvkit.test=disk-write"
t0=$(date +%s.%N)
"$hvmm" "${boot[@]}" --cmdline "$cmdline" --serial-log "$serial" --disk "$image" \
    >"$HVKIT_SCENARIO_DIR/hvmm.log" 2>&1 &
vmm=$!
trap 'kill $vmm 2>/dev/null || true; rm -rf "$work"' EXIT

# Once the guest prints, the first hvmm holds the image's lock.
for _ in $(seq 1 300); do
    [ ! -s "$serial" ] || break
    kill -0 $vmm 2>/dev/null || break
    sleep 0.2
done
if "$hvmm" "${boot[@]}" --disk "$image" >"$work/second.log" 2>&1; then
    fail "a second hvmm ran on an image the first one holds"
fi
grep -q "disk $image is in use by another process (flock)" "$work/second.log" ||
    fail "the second hvmm did not report the lock: $(cat "$work/second.log")"
echo "second hvmm: $(cat "$work/second.log")"

wait_for_guest "$vmm"
[ "$status" = 0 ] || fail "hvmm exited with status $status: $(cat "$HVKIT_SCENARIO_DIR/hvmm.log")"
[ -n "$reached" ] || fail "the guest never printed 'hvkit-guest: init reached'"
tr -d '\r' <"$serial" >"$serial.txt"
grep -E '^hvkit-guest' "$serial.txt"
grep -qxF 'hvkit-guest: /data: /dev/vda mounted read-write' "$serial.txt" ||
    fail "the guest did not mount /dev/vda read-write"
grep -qxF 'hvkit-guest-disk: marker file says: hvkit data disk' "$serial.txt" ||
    fail "the guest did not read the marker file from the disk"

expected=$work/expected
for i in $(seq 0 1999); do echo "hvkit virtio-blk line $i"; done >"$expected"
debugfs -R 'cat /hvkit-disk-test' "$image" >"$work/readback" 2>/dev/null ||
    fail "debugfs cannot read /hvkit-disk-test from the image"
cmp "$expected" "$work/readback" ||
    fail "the file read back from the image differs from what the guest wrote ($(wc -c <"$work/readback") bytes)"
e2fsck -fn "$image" >"$work/fsck.log" 2>&1 || fail "e2fsck finds the image damaged: $(tail -n 20 "$work/fsck.log")"
record_timing hvmm_disk "$t0"

# Read-only: the guest sees VIRTIO_BLK_F_RO, mounts /data read-only, and
# the image keeps every byte.
sha_before=$(sha256sum <"$image")
serial=$HVKIT_SCENARIO_DIR/hvmm-serial-ro.log
"$hvmm" "${boot[@]}" --cmdline "$HVKIT_GUEST_CMDLINE hvkit.poweroff=reboot reboot=k hvkit.test=disk-ro" \
    --serial-log "$serial" --disk "$image,ro" >"$HVKIT_SCENARIO_DIR/hvmm-ro.log" 2>&1 ||
    fail "hvmm with --disk $image,ro exited with status $?: $(cat "$HVKIT_SCENARIO_DIR/hvmm-ro.log")"
tr -d '\r' <"$serial" >"$serial.txt"
grep -qxF 'hvkit-guest-disk: vda ro=1' "$serial.txt" ||
    fail "with ,ro the guest's kernel does not see /dev/vda as read-only"
grep -qxF 'hvkit-guest-selfcheck: data disk says: hvkit data disk' "$serial.txt" ||
    fail "with ,ro the guest could not read the marker file"
grep -qxF 'hvkit-guest: /data: /dev/vda mounted read-only' "$serial.txt" ||
    fail "with ,ro the guest's init does not report /data read-only"
[ "$(sha256sum <"$image")" = "$sha_before" ] || fail "the read-only image changed"
echo "hvmm --disk: $(wc -c <"$expected") bytes written by the guest read back from the image; e2fsck clean; reset at $total s; read-only boot left the image unchanged"
echo "PASS"
