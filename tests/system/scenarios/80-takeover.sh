#!/usr/bin/env bash
# hvkit-timeout: 600
# Live takeover of a busy guest (docs/live-takeover.md): a 2-vCPU guest with
# disk, net, hvchan and filter rings runs load (lib/takeover-load.sh:
# synced numbered records, a ping every 10 ms, repeated TCP fetches checked
# by sha256, a RAM pattern, uptime) while the host hands it over ten times
# in a row (hvmm -> hvmm-next -> hvmm -> ...). Then: each takeover answered
# with a new pid and its blackout, the same number of open fds in every
# successor (nothing leaks from one to the next), the guest booted once, every
# acknowledged record on the image and e2fsck clean, no fetch cut or
# wrong, pings lost only inside the blackouts, time never back, RAM intact.
set -euo pipefail
source "$(dirname "$0")/../lib/takeover-load.sh"

takeover_load_start hvtap8 10.0.8 "${HVKIT_TAKEOVER_LOAD_S:-90}"
echo "load started; handing over ten times"

# fds_of PID: how many fds PID holds.
fds_of() { find "/proc/$1/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l; }
takeovers=0
allowed=1  # the ping in flight when the load's deadline ends it
first_fds=""
for binary in "$hvmm_next" "$hvmm" "$hvmm_next" "$hvmm" "$hvmm_next" "$hvmm" "$hvmm_next" "$hvmm" "$hvmm_next" "$hvmm"; do
    sleep 4
    takeover_load_serving
    before=$serving
    out=$("$hvmm" control "$sock" takeover --binary "$binary") ||
        fail "takeover to $binary failed: $out $(takeover_load_stopped)"
    after=$(echo "$out" | sed -n 's/.*"pid":\([0-9]*\).*/\1/p')
    blackout=$(takeover_load_blackout "$out")
    [ -n "$after" ] && [ "$after" != "$before" ] || fail "takeover to $binary: the pid stayed $before: $out"
    [ -n "$blackout" ] || fail "takeover to $binary: no blackout reported: $out"
    takeovers=$((takeovers + 1))
    # A ping every 10 ms: only those due inside the blackout may be lost.
    allowed=$((allowed + blackout / 10000 + 1))
    echo "takeover $takeovers: pid $before -> $after ($binary), blackout $blackout us: $(sed -n 's/.*"steps_us":\({[^}]*}\).*/\1/p' <<<"$out")"
    echo "takeover_${takeovers}_blackout_us=$blackout" >>"$HVKIT_SCENARIO_DIR/timing"
    # A control client that just left may hold an fd a moment longer: a
    # leaked one never goes away.
    fds=$(fds_of "$after")
    for _ in $(seq 50); do
        [ -z "$first_fds" ] || [ "$fds" = "$first_fds" ] && break
        sleep 0.1
        fds=$(fds_of "$after")
    done
    [ -n "$first_fds" ] || first_fds=$fds
    [ "$fds" = "$first_fds" ] || fail "takeover $takeovers: pid $after holds $fds fds, the first successor $first_fds"
done
echo "every successor holds $first_fds fds"
wait "$first" && first_status=0 || first_status=$?
vmm=""
[ "$first_status" = 5 ] || fail "the first hvmm exited $first_status, not 5 (handed over)"

takeover_load_finish "$takeovers" "$allowed"
echo "takeover under load: $takeovers takeovers, $acked records kept, $fetched fetches whole, pings $pings_got/$pings_sent"
echo "PASS"
