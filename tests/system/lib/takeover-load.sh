# A busy guest for live-takeover scenarios (80-takeover, 81-takeover-fallback):
# a 2-vCPU guest with disk, net, hvchan and filter rings running the load of
# guest-hooks/80-takeover (synced numbered records, a ping every 10 ms,
# repeated TCP fetches checked by sha256, a RAM pattern, uptime), and the
# checks of what a takeover, or a takeover that falls back, must not break.
#
#   takeover_load_start TAP NET LOAD_S   NET: the TAP's /24, say 10.0.8;
#                                        sets vmm, first, sock, serial, work,
#                                        image; the cleanup trap is set
#   takeover_load_serving                sets serving: the pid answering the
#                                        control socket (fails naming the
#                                        VM's stop line when none answers)
#   takeover_load_stopped                the VM's last stop line, if it ended
#   takeover_load_blackout STATUS        STATUS's took_over.blackout_us
#   takeover_load_finish EVENTS ALLOWED  waits for the guest's load and reboot,
#                                        then checks: booted once, records on
#                                        the image, e2fsck clean, no fetch cut,
#                                        time never back, RAM intact, at most
#                                        ALLOWED pings lost over EVENTS events
# shellcheck source=SCRIPTDIR/guest-boot.sh
source "$(dirname "${BASH_SOURCE[0]}")/guest-boot.sh"

takeover_load_start() {
    local net=$2
    TAKEOVER_TAP=$1
    LOAD_S=$3
    require_set HVKIT_GUEST_KERNEL HVKIT_GUEST_INITRD HVKIT_GUEST_CMDLINE HVKIT_GUEST_DISK HVKIT_BUILD_DIR
    hvmm=$HVKIT_BUILD_DIR/hypervisor/hvmm
    hvmm_next=$HVKIT_BUILD_DIR/hypervisor/hvmm-next
    [ -x "$hvmm" ] && [ -x "$hvmm_next" ] || fail "no hvmm/hvmm-next in $HVKIT_BUILD_DIR (build the tree first)"
    [ "$(id -u)" = 0 ] || { echo "SKIP: creating a TAP needs root"; exit 77; }
    work=$(mktemp -d)
    image=$work/data.ext4
    cp "$HVKIT_GUEST_DISK" "$image"
    sock=$work/vm.sock
    serial=$HVKIT_SCENARIO_DIR/hvmm-serial.log
    TAKEOVER_SERVER=""
    vmm=""
    trap takeover_load_cleanup EXIT

    ip tuntap add dev "$TAKEOVER_TAP" mode tap
    ip addr add "$net.1/24" dev "$TAKEOVER_TAP"
    ip link set "$TAKEOVER_TAP" up
    mkdir -p "$work/www"
    head -c 150000 /dev/urandom | base64 -w 76 >"$work/www/blob"
    local want
    want=$(sha256sum <"$work/www/blob" | cut -d' ' -f1)
    python3 -m http.server --bind "$net.1" --directory "$work/www" 8080 >"$HVKIT_SCENARIO_DIR/http.log" 2>&1 &
    TAKEOVER_SERVER=$!

    local cmdline="$HVKIT_GUEST_CMDLINE hvkit.poweroff=reboot reboot=k hvkit.test=takeover hvkit.load_s=$LOAD_S hvkit.ip=$net.15/24 hvkit.fetch=$net.1:8080/blob hvkit.fetch_sha256=$want"
    "$hvmm" run --kernel "$HVKIT_GUEST_KERNEL" --initrd "$HVKIT_GUEST_INITRD" --mem 256M --cpus 2 \
        --cmdline "$cmdline" --serial-log "$serial" --serial-input none --control "$sock" \
        --disk "$image" --net "tap=$TAKEOVER_TAP" --hvchan --filter-rings 1M \
        >"$HVKIT_SCENARIO_DIR/hvmm.log" 2>&1 &
    vmm=$!
    first=$vmm

    local deadline=$((SECONDS + ${HVKIT_INIT_DEADLINE:-240} + 60))
    until grep -q 'hvkit-guest-takeover: load started' "$serial" 2>/dev/null; do
        kill -0 "$vmm" 2>/dev/null || fail "hvmm ended before the load started: $(cat "$HVKIT_SCENARIO_DIR/hvmm.log")"
        ((SECONDS < deadline)) || fail "the guest's load did not start"
        sleep 0.5
    done
}

takeover_load_cleanup() {
    "$hvmm" control "$sock" shutdown >/dev/null 2>&1 || true
    [ -z "$vmm" ] || kill "$vmm" 2>/dev/null || true
    [ -z "$TAKEOVER_SERVER" ] || kill "$TAKEOVER_SERVER" 2>/dev/null || true
    ip link del "$TAKEOVER_TAP" 2>/dev/null || true
    rm -rf "$work"
}

# The VM's last stop line but for handovers ("" while it runs). Failures
# quote it, so a guest triple fault reads as one (docs/test-host.md) and gets
# run-system.sh's rerun.
takeover_load_stopped() {
    { grep -h 'VM stopped' "$HVKIT_SCENARIO_DIR/hvmm.log" || true; } | { grep -v 'handed over' || true; } | tail -n 1
}

takeover_load_serving() {
    local out
    out=$("$hvmm" control "$sock" status) || fail "no hvmm answers: $(takeover_load_stopped)"
    serving=$(sed -n 's/.*"pid":\([0-9]*\).*/\1/p' <<<"$out")
}

takeover_load_blackout() { sed -n 's/.*"blackout_us":\([0-9]*\).*/\1/p' <<<"$1"; }

takeover_load_finish() {
    local events=$1 allowed=$2
    # The last hvmm may not be our child: wait for the guest's reboot to end it.
    local deadline=$((SECONDS + LOAD_S + 300))
    takeover_load_serving
    while kill -0 "$serving" 2>/dev/null; do
        ((SECONDS < deadline)) || fail "the guest did not finish its load and reboot"
        sleep 1
    done
    local stopped
    stopped=$(takeover_load_stopped)
    [[ $stopped == *"VM stopped: guest reset"* ]] ||
        fail "the guest's last hvmm ended otherwise than by the guest's reboot: $stopped"
    tr -d '\r' <"$serial" >"$serial.txt"
    grep -E '^hvkit-guest-takeover' "$serial.txt" || true
    [ "$(grep -c '^hvkit-guest: init reached' "$serial.txt")" = 1 ] ||
        fail "the guest booted more than once"
    acked=$(sed -n 's/^hvkit-guest-takeover: records acknowledged: \([0-9]*\)$/\1/p' "$serial.txt")
    [ -n "$acked" ] || fail "the guest did not report its records"
    grep -qxF 'hvkit-guest-takeover: uptime stepped back: 0 times' "$serial.txt" || fail "guest time stepped back"
    grep -qxF 'hvkit-guest-takeover: RAM pattern intact' "$serial.txt" || fail "the guest's RAM pattern changed"
    local fetches broken
    fetches=$(sed -n 's/^hvkit-guest-takeover: fetches: //p' "$serial.txt")
    fetched=$(echo "$fetches" | sed -n 's/^\([0-9]*\) whole, .*/\1/p')
    broken=$(echo "$fetches" | sed -n 's/.* whole, \([0-9]*\) cut or wrong$/\1/p')
    [ "$broken" = 0 ] || fail "TCP fetches: $fetches"
    [ "${fetched:-0}" -gt 0 ] || fail "no TCP fetch completed: $fetches"
    local ping_line
    ping_line=$(sed -n 's/^hvkit-guest-takeover: ping: //p' "$serial.txt")
    pings_sent=$(echo "$ping_line" | sed -n 's/^\([0-9]*\) packets transmitted.*/\1/p')
    pings_got=$(echo "$ping_line" | sed -n 's/.*, \([0-9]*\) packets received.*/\1/p')
    [ -n "$pings_sent" ] && [ -n "$pings_got" ] || fail "no ping summary: $ping_line"
    ((pings_sent - pings_got <= allowed)) ||
        fail "$((pings_sent - pings_got)) of $pings_sent pings lost over $events events, at most $allowed may be"

    e2fsck -fn "$image" >"$work/fsck.log" 2>&1 || fail "e2fsck finds the image damaged: $(cat "$work/fsck.log")"
    debugfs -R 'cat /records' "$image" >"$work/records" 2>/dev/null || fail "no /records on the image"
    local i
    for ((i = 0; i < acked; i++)); do echo "record $i"; done >"$work/expected"
    head -n "$acked" "$work/records" | cmp -s - "$work/expected" ||
        fail "the image lacks acknowledged records (acknowledged $acked, the file has $(wc -l <"$work/records") lines)"
}
