#!/usr/bin/env bash
# hvkit-timeout: 600
# Live takeover of a busy guest (docs/live-takeover.md): a 2-vCPU guest with
# disk, net, hvchan and filter rings runs load (guest-hooks/80-takeover:
# synced numbered records, a ping every 0.2 s, repeated TCP fetches checked
# by sha256, a RAM pattern, uptime) while the host hands it over three
# times (hvmm -> hvmm-next -> hvmm -> hvmm-next). Then: each takeover
# answered with a new pid and its blackout, the guest booted once, every
# acknowledged record on the image and e2fsck clean, no fetch cut or
# wrong, pings lost only around the takeovers, time never back, RAM intact.
set -euo pipefail
source "$(dirname "$0")/../lib/guest-boot.sh"
require_set HVKIT_GUEST_KERNEL HVKIT_GUEST_INITRD HVKIT_GUEST_CMDLINE HVKIT_GUEST_DISK HVKIT_BUILD_DIR
hvmm=$HVKIT_BUILD_DIR/hypervisor/hvmm
hvmm_next=$HVKIT_BUILD_DIR/hypervisor/hvmm-next
[ -x "$hvmm" ] && [ -x "$hvmm_next" ] || fail "no hvmm/hvmm-next in $HVKIT_BUILD_DIR (build the tree first)"
[ "$(id -u)" = 0 ] || { echo "SKIP: creating a TAP needs root"; exit 77; }

tap=hvtap8
work=$(mktemp -d)
image=$work/data.ext4
cp "$HVKIT_GUEST_DISK" "$image"
sock=$work/vm.sock
serial=$HVKIT_SCENARIO_DIR/hvmm-serial.log
server=""
vmm=""
cleanup() {
    "$hvmm" control "$sock" shutdown >/dev/null 2>&1 || true
    [ -z "$vmm" ] || kill "$vmm" 2>/dev/null || true
    [ -z "$server" ] || kill "$server" 2>/dev/null || true
    ip link del "$tap" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

ip tuntap add dev "$tap" mode tap
ip addr add 10.0.8.1/24 dev "$tap"
ip link set "$tap" up
mkdir -p "$work/www"
head -c 150000 /dev/urandom | base64 -w 76 >"$work/www/blob"
want=$(sha256sum <"$work/www/blob" | cut -d' ' -f1)
python3 -m http.server --bind 10.0.8.1 --directory "$work/www" 8080 >"$HVKIT_SCENARIO_DIR/http.log" 2>&1 &
server=$!

load_s=${HVKIT_TAKEOVER_LOAD_S:-75}
cmdline="$HVKIT_GUEST_CMDLINE hvkit.poweroff=reboot reboot=k hvkit.test=takeover hvkit.load_s=$load_s hvkit.ip=10.0.8.15/24 hvkit.fetch=10.0.8.1:8080/blob hvkit.fetch_sha256=$want"
"$hvmm" run --kernel "$HVKIT_GUEST_KERNEL" --initrd "$HVKIT_GUEST_INITRD" --mem 256M --cpus 2 \
    --cmdline "$cmdline" --serial-log "$serial" --serial-input none --control "$sock" \
    --disk "$image" --net "tap=$tap" --hvchan --filter-rings 1M \
    >"$HVKIT_SCENARIO_DIR/hvmm.log" 2>&1 &
vmm=$!
first=$vmm

deadline=$((SECONDS + ${HVKIT_INIT_DEADLINE:-240} + 60))
until grep -q 'hvkit-guest-takeover: load started' "$serial" 2>/dev/null; do
    kill -0 "$vmm" 2>/dev/null || fail "hvmm ended before the load started: $(cat "$HVKIT_SCENARIO_DIR/hvmm.log")"
    ((SECONDS < deadline)) || fail "the guest's load did not start"
    sleep 0.5
done
echo "load started; handing over three times"

takeovers=0
for binary in "$hvmm_next" "$hvmm" "$hvmm_next"; do
    sleep 8
    # A VM that ended meanwhile says why (its hvmm's stop line), so a
    # guest triple fault reads as one (docs/test-host.md).
    before=$("$hvmm" control "$sock" status | sed -n 's/.*"pid":\([0-9]*\).*/\1/p') ||
        fail "no hvmm answers before takeover $((takeovers + 1)): $(grep 'VM stopped' "$HVKIT_SCENARIO_DIR/hvmm.log" | tail -n 1)"
    out=$("$hvmm" control "$sock" takeover --binary "$binary") ||
        fail "takeover to $binary failed: $out"
    after=$(echo "$out" | sed -n 's/.*"pid":\([0-9]*\).*/\1/p')
    blackout=$(echo "$out" | sed -n 's/.*"blackout_us":\([0-9]*\).*/\1/p')
    [ -n "$after" ] && [ "$after" != "$before" ] || fail "takeover to $binary: the pid stayed $before: $out"
    takeovers=$((takeovers + 1))
    echo "takeover $takeovers: pid $before -> $after ($binary), blackout $blackout us"
    echo "takeover_${takeovers}_blackout_us=$blackout" >>"$HVKIT_SCENARIO_DIR/timing"
done
wait "$first" && first_status=0 || first_status=$?
vmm=""
[ "$first_status" = 5 ] || fail "the first hvmm exited $first_status, not 5 (handed over)"

# The last successor is not our child: wait for the guest's reboot to end it.
last=$after
deadline=$((SECONDS + load_s + 300))
while kill -0 "$last" 2>/dev/null; do
    ((SECONDS < deadline)) || fail "the guest did not finish its load and reboot"
    sleep 1
done
tr -d '\r' <"$serial" >"$serial.txt"
grep -E '^hvkit-guest-takeover' "$serial.txt" || true
[ "$(grep -c '^hvkit-guest: init reached' "$serial.txt")" = 1 ] ||
    fail "the guest booted more than once"
acked=$(sed -n 's/^hvkit-guest-takeover: records acknowledged: \([0-9]*\)$/\1/p' "$serial.txt")
[ -n "$acked" ] || fail "the guest did not report its records"
grep -qxF 'hvkit-guest-takeover: uptime stepped back: 0 times' "$serial.txt" || fail "guest time stepped back"
grep -qxF 'hvkit-guest-takeover: RAM pattern intact' "$serial.txt" || fail "the guest's RAM pattern changed"
fetches=$(sed -n 's/^hvkit-guest-takeover: fetches: //p' "$serial.txt")
fetched=$(echo "$fetches" | sed -n 's/^\([0-9]*\) whole, .*/\1/p')
broken=$(echo "$fetches" | sed -n 's/.* whole, \([0-9]*\) cut or wrong$/\1/p')
[ "$broken" = 0 ] || fail "TCP fetches: $fetches"
[ "${fetched:-0}" -gt 0 ] || fail "no TCP fetch completed: $fetches"
ping_line=$(sed -n 's/^hvkit-guest-takeover: ping: //p' "$serial.txt")
sent=$(echo "$ping_line" | sed -n 's/^\([0-9]*\) packets transmitted.*/\1/p')
got=$(echo "$ping_line" | sed -n 's/.*, \([0-9]*\) packets received.*/\1/p')
[ -n "$sent" ] && [ -n "$got" ] || fail "no ping summary: $ping_line"
# A ping every 0.2 s: a takeover may cost the ones in its blackout.
((sent - got <= 5 * takeovers)) || fail "$((sent - got)) of $sent pings lost over $takeovers takeovers"

e2fsck -fn "$image" >"$work/fsck.log" 2>&1 || fail "e2fsck finds the image damaged: $(cat "$work/fsck.log")"
debugfs -R 'cat /records' "$image" >"$work/records" 2>/dev/null || fail "no /records on the image"
for ((i = 0; i < acked; i++)); do echo "record $i"; done >"$work/expected"
head -n "$acked" "$work/records" | cmp -s - "$work/expected" ||
    fail "the image lacks acknowledged records (acknowledged $acked, the file has $(wc -l <"$work/records") lines)"
echo "takeover under load: $takeovers takeovers, $acked records kept, $fetched fetches whole, pings $got/$sent"
echo "PASS"
