#!/usr/bin/env bash
# hvkit-timeout: 300
# hvmm with --net on a TAP in the test host: the guest configures eth0
# (virtio-net behind virtio-pci, MSI-X) as 10.0.2.15/24 and fetches a file
# from an HTTP server on the TAP's host side (guest-hooks/40-net-fetch): its
# pings must come back and the file's sha256 must match. A missing TAP and a TAP another hvmm holds fail with
# their messages.
set -euo pipefail
source "$(dirname "$0")/../lib/guest-boot.sh"
require_set HVKIT_GUEST_KERNEL HVKIT_GUEST_INITRD HVKIT_GUEST_CMDLINE HVKIT_BUILD_DIR
hvmm=$HVKIT_BUILD_DIR/hypervisor/hvmm
[ -x "$hvmm" ] || fail "no hvmm at $hvmm (build the tree first)"
[ "$(id -u)" = 0 ] || { echo "SKIP: creating a TAP needs root"; exit 77; }

tap=hvtap0
work=$(mktemp -d)
serial=$HVKIT_SCENARIO_DIR/hvmm-serial.log
server=""
vmm=""
cleanup() {
    [ -z "$vmm" ] || kill "$vmm" 2>/dev/null || true
    [ -z "$server" ] || kill "$server" 2>/dev/null || true
    ip link del "$tap" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
boot=(run --kernel "$HVKIT_GUEST_KERNEL" --initrd "$HVKIT_GUEST_INITRD" --mem 256M)

if "$hvmm" "${boot[@]}" --net tap=hvnope0 >"$work/missing.log" 2>&1; then
    fail "hvmm started on a TAP that does not exist"
fi
grep -q "no network interface hvnope0" "$work/missing.log" ||
    fail "a missing TAP was not reported by name: $(cat "$work/missing.log")"

ip tuntap add dev "$tap" mode tap
ip addr add 10.0.2.1/24 dev "$tap"
ip link set "$tap" up
mkdir -p "$work/www"
# Text (the guest's fetcher strips headers line by line): ~300 KB of base64.
head -c 225000 /dev/urandom | base64 -w 76 >"$work/www/blob"
size=$(wc -c <"$work/www/blob")
want=$(sha256sum <"$work/www/blob" | cut -d' ' -f1)
python3 -m http.server --bind 10.0.2.1 --directory "$work/www" 8080 >"$HVKIT_SCENARIO_DIR/http.log" 2>&1 &
server=$!

cmdline="$HVKIT_GUEST_CMDLINE hvkit.poweroff=reboot reboot=k hvkit.ip=10.0.2.15/24 hvkit.fetch=10.0.2.1:8080/blob"
t0=$(date +%s.%N)
"$hvmm" "${boot[@]}" --cmdline "$cmdline" --serial-log "$serial" --net "tap=$tap" \
    >"$HVKIT_SCENARIO_DIR/hvmm.log" 2>&1 &
vmm=$!

for _ in $(seq 1 300); do
    [ ! -s "$serial" ] || break
    kill -0 "$vmm" 2>/dev/null || break
    sleep 0.2
done
if "$hvmm" "${boot[@]}" --net "tap=$tap" >"$work/second.log" 2>&1; then
    fail "a second hvmm attached to a TAP the first one holds"
fi
grep -q "TAP $tap: in use by another process" "$work/second.log" ||
    fail "the second hvmm did not report the busy TAP: $(cat "$work/second.log")"
echo "second hvmm: $(cat "$work/second.log")"

wait_for_guest "$vmm"
vmm=""
[ "$status" = 0 ] || fail "hvmm exited with status $status: $(cat "$HVKIT_SCENARIO_DIR/hvmm.log")"
[ -n "$reached" ] || fail "the guest never printed 'hvkit-guest: init reached'"
tr -d '\r' <"$serial" >"$serial.txt"
grep -E '^hvkit-guest' "$serial.txt"
grep -qxF 'hvkit-guest: eth0 10.0.2.15/24 up' "$serial.txt" || fail "the guest did not bring eth0 up"
got=$(sed -n 's/^hvkit-guest-net: fetched \([0-9]*\) bytes, sha256 \([0-9a-f]*\)$/\2/p' "$serial.txt")
[ -n "$got" ] || fail "the guest did not fetch the file"
[ "$got" = "$want" ] || fail "the guest fetched sha256 $got; the file's is $want"
grep -q '^hvkit-guest-net: ping: 3 packets transmitted, 3 packets received' "$serial.txt" ||
    fail "the guest's pings of 10.0.2.1 did not all come back"
cat "$HVKIT_SCENARIO_DIR/hvmm.log"
record_timing hvmm_net "$t0"
echo "hvmm --net: the guest fetched $size bytes over virtio-net with the right sha256; reset at $total s"
echo "PASS"
