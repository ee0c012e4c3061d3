#!/usr/bin/env bash
# hvkit-timeout: 600
# Live takeover of a busy guest (docs/live-takeover.md): a 2-vCPU guest with
# disk, net, hvchan and filter rings runs load (lib/takeover-load.sh:
# synced numbered records, a ping every 10 ms, repeated TCP fetches checked
# by sha256, a RAM pattern, uptime) while the host hands it over three
# times (hvmm -> hvmm-next -> hvmm -> hvmm-next). Then: each takeover
# answered with a new pid and its blackout, the guest booted once, every
# acknowledged record on the image and e2fsck clean, no fetch cut or
# wrong, pings lost only inside the blackouts, time never back, RAM intact.
set -euo pipefail
source "$(dirname "$0")/../lib/takeover-load.sh"

takeover_load_start hvtap8 10.0.8 "${HVKIT_TAKEOVER_LOAD_S:-75}"
echo "load started; handing over three times"

takeovers=0
allowed=1  # the ping in flight when the load's deadline ends it
for binary in "$hvmm_next" "$hvmm" "$hvmm_next"; do
    sleep 8
    takeover_load_serving
    before=$serving
    out=$("$hvmm" control "$sock" takeover --binary "$binary") ||
        fail "takeover to $binary failed: $out"
    after=$(echo "$out" | sed -n 's/.*"pid":\([0-9]*\).*/\1/p')
    blackout=$(takeover_load_blackout "$out")
    [ -n "$after" ] && [ "$after" != "$before" ] || fail "takeover to $binary: the pid stayed $before: $out"
    [ -n "$blackout" ] || fail "takeover to $binary: no blackout reported: $out"
    takeovers=$((takeovers + 1))
    # A ping every 10 ms: only those due inside the blackout may be lost.
    allowed=$((allowed + blackout / 10000 + 1))
    echo "takeover $takeovers: pid $before -> $after ($binary), blackout $blackout us: $(sed -n 's/.*"steps_us":\({[^}]*}\).*/\1/p' <<<"$out")"
    echo "takeover_${takeovers}_blackout_us=$blackout" >>"$HVKIT_SCENARIO_DIR/timing"
done
wait "$first" && first_status=0 || first_status=$?
vmm=""
[ "$first_status" = 5 ] || fail "the first hvmm exited $first_status, not 5 (handed over)"

takeover_load_finish "$takeovers" "$allowed"
echo "takeover under load: $takeovers takeovers, $acked records kept, $fetched fetches whole, pings $pings_got/$pings_sent"
echo "PASS"
