#!/usr/bin/env bash
# hvkit-timeout: 600
# Takeovers that fail, under load (docs/live-takeover.md, "Who runs the
# guest"): the busy guest of lib/takeover-load.sh stays with its hvmm when
# the successor
#   1. is not hvmm (/bin/true: it never answers "ready", or is gone before
#      the offer);
#   2. dies once it built the machine (killed at new-ready);
#   3. dies once it restored the state, before the commit (new-restored);
#   4. misses its trial's deadline: it runs the guest, which makes no hvchan
#      call within 3 s, so it pauses it again and hands it back;
# each answered by `hvmm control takeover` with exit 1 and the reason, the
# same pid serving after it, its status saying "fell-back". Then a takeover
# that works. At the end the load's checks (records, e2fsck, fetches, time,
# RAM, pings) and a guest booted once: nothing of it noticed the fallbacks.
set -euo pipefail
source "$(dirname "$0")/../lib/takeover-load.sh"

takeover_load_start hvtap9 10.0.9 "${HVKIT_TAKEOVER_LOAD_S:-75}"
takeover_load_serving
echo "load started in pid $serving; five takeovers, the first four fail"

# A successor that kills itself at STEP (HVMM_TEST_TAKEOVER_CRASH).
crashing() {
    printf '#!/bin/sh\nHVMM_TEST_TAKEOVER_CRASH=%s exec %s "$@"\n' "$1" "$hvmm_next" >"$work/crash-$1"
    chmod +x "$work/crash-$1"
    echo "$work/crash-$1"
}

# fall_back NAME WANT ARGS...: a takeover that must fail with WANT in its
# reason, leaving the guest with the same hvmm.
fall_back() {
    local name=$1 want=$2 out rc=0
    shift 2
    sleep 4
    takeover_load_serving
    local before=$serving
    out=$("$hvmm" control "$sock" takeover "$@" 2>&1) || rc=$?
    out+=" $(takeover_load_stopped)"  # a VM that ended says why
    [ "$rc" = 1 ] || fail "$name: takeover exited $rc, not 1 (fell back): $out"
    grep -q '"state":"fell-back"' <<<"$out" || fail "$name: the status does not say fell-back: $out"
    grep -qE "$want" <<<"$out" || fail "$name: the reason does not say '$want': $out"
    takeover_load_serving
    [ "$serving" = "$before" ] || fail "$name: pid $serving serves, not $before"
    echo "$name: fell back, pid $serving runs the guest on: $(sed -n 's/.*"error":"\([^"]*\)".*/\1/p' <<<"$out")"
}

fall_back "1 not hvmm" 'ready|offer' --binary /bin/true
fall_back "2 dies at new-ready" 'restore|state|closed|ended' --binary "$(crashing new-ready)"
fall_back "3 dies at new-restored" 'restore|closed|ended' --binary "$(crashing new-restored)"
fall_back "4 misses its trial" 'trial' --binary "$hvmm_next" --trial 3000

sleep 4
out=$("$hvmm" control "$sock" takeover --binary "$hvmm_next") ||
    fail "the takeover after the fallbacks failed: $out $(takeover_load_stopped)"
grep -q '"version":"0.1.1"' <<<"$out" || fail "hvmm-next does not serve after the takeover: $out"
blackout=$(takeover_load_blackout "$out")
[ -n "$blackout" ] || fail "no blackout reported: $out"
echo "5 works: $(sed -n 's/.*"took_over":\({.*}\),"uptime.*/\1/p' <<<"$out")"
wait "$first" && first_status=0 || first_status=$?
vmm=""
[ "$first_status" = 5 ] || fail "the first hvmm exited $first_status, not 5 (handed over)"

# A ping every 10 ms: the one cut by the load's deadline, one for each
# fallback, and those due inside the takeover's blackout may be lost.
takeover_load_finish 5 $((1 + 4 + blackout / 10000 + 1))
echo "four fallbacks and a takeover under load: $acked records kept, $fetched fetches whole, pings $pings_got/$pings_sent"
echo "PASS"
