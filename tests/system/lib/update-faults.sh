# shellcheck shell=bash
# The fault scenarios' parts (sourced after update-fixture.sh). A fault is
# KIND:POINT; a plan of them goes to the guest as hvkit.faults= (the guest
# hook 32-hvupdate carries it out: the agent stops itself at POINT, then KIND
# cuts it).

# shellcheck source=SCRIPTDIR/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

# The points, in the order an apply reaches them:
FAULT_POINTS="downloaded mid-transfer staged committing"

# make_fault_fixture DIR: the update world with 0.1.1 (the release every fault
# cuts) and 0.1.2 (hvmm-next2: the apply after the faults, a real upgrade).
# Sets an EXIT trap that kills hvmm (vmm) and cleans the world up.
make_fault_fixture() {
    trap 'kill -9 ${vmm:-} 2>/dev/null || true; cleanup_update_fixture' EXIT
    update_fixture_begin "$1"
    update_fixture_release 0.1.2 "$W/release-key.json" hvkit-0.1.2.hvpkg \
        "$HVKIT_BUILD_DIR/hypervisor/hvmm-next2"
    update_fixture_serve
}

# fault_plan KIND: the guest argument for KIND at every point, in order.
fault_plan() {
    local point plan=""
    for point in $FAULT_POINTS; do plan+="${plan:+,}$1:$point"; done
    echo "hvkit.faults=$plan"
}

# store_release [--pending-ok]: sets `release` to what the host's store says
# the next start runs ("none" or the version); fails when the store is not
# whole: a committed release whose hvmm is missing or reports another
# version, or whose pad.bin (if the package had one) differs. `hvmm
# --version` reads the journal without recovering it, so right after a kill
# during the commit itself it says "pending" with --pending-ok: the next
# start settles it.
store_release() {
    local out version
    out=$("$HVMM" --version --state-dir "$STATE") || fail "hvmm --version --state-dir: $out"
    version=$(sed -n 's/^committed: \([^ ]*\) .*/\1/p' <<<"$out")
    if [ -z "$version" ]; then
        if [ -e "$STATE/current" ]; then
            [ "${1:-}" = --pending-ok ] || fail "nothing committed, yet $STATE/current exists"
            release=pending
        else
            release=none
        fi
        return
    fi
    [ "$("$STATE/current/hypervisor/bin/hvmm" --version | head -n 1)" = "hvmm $version" ] ||
        fail "the store says $version is committed, but current/hypervisor/bin/hvmm is not it"
    [ ! -f "$W/src/pad.bin" ] || cmp -s "$STATE/current/hypervisor/share/pad.bin" "$W/src/pad.bin" ||
        fail "the committed release's pad.bin differs from the package's"
    release=$version
}

# check_state N KIND POINT: the guest's state after fault N (its line in
# $serial.txt, printed by `hvupdate --json status`, which recovers first)
# has no transaction pending and the same release on both sides. Cut before
# the hypervisor commits, that is the old release (none) and the transaction
# was undone; cut at committing, the new one (0.1.1) and it was finished:
# hvmm's own recovery rolls a commit it died in forward.
check_state() {
    local n=$1 kind=$2 point=$3 line committed extensions recovered want
    line=$(grep -m 1 "^hvupdate-state: after $n $kind:$point: " "$serial.txt") ||
        fail "($kind at $point) no state after the fault"
    field() { sed -n "s/.*\"$1\": *\"\([^\"]*\)\".*/\1/p" <<<"$line"; }
    committed=$(field hypervisor_committed)
    extensions=$(field guest_extensions)
    recovered=$(field recovered)
    grep -q '"pending": *null' <<<"$line" || fail "($kind at $point) a transaction is still pending: $line"
    case "$committed/$extensions" in
        /) state=old ;;
        0.1.1/0.1.1) state=new ;;
        *) fail "($kind at $point) a mix: hypervisor committed '${committed:--}', guest extensions '${extensions:--}'" ;;
    esac
    if [ "$point" = committing ]; then want="new/transaction [0-9]+ committed"; else want="old/transaction [0-9]+ undone"; fi
    grep -qxE "$want" <<<"$state/$recovered" ||
        fail "($kind at $point) expected $want, found the $state release and recovery '$recovered'"
    echo "$n. $kind at $point: the $state release on both sides; recovery: $recovered"
}

# check_after_faults: the apply after the faults in $serial.txt went from
# 0.1.1 to 0.1.2 and completed: the host has committed 0.1.2, the guest runs
# its extension, the history has that transaction committed.
check_after_faults() {
    grep -qx 'hvupdate-hook: apply exit 0' "$serial.txt" || fail "the apply after the faults did not complete"
    grep -q '^apply: 0.1.1 -> 0.1.2' "$serial.txt" || fail "the apply after the faults did not go 0.1.1 -> 0.1.2"
    grep -q 'hvupdate-hook: extension says: hello from 0.1.2' "$serial.txt" ||
        fail "the guest extension of 0.1.2 is not installed"
    store_release
    [ "$release" = 0.1.2 ] || fail "the host has committed $release, not 0.1.2"
    grep '^hvupdate-history: ' "$serial.txt" | tr '}' '\n' | grep '"to": *"0.1.2"' |
        grep -q '"state": *"committed"' ||
        fail "the history has no committed transaction to 0.1.2"
    echo "then: apply 0.1.1 -> 0.1.2 completed; the host has committed 0.1.2"
}

# wait_for_serial PATTERN: until the serial log has a line matching PATTERN;
# fails when hvmm ends first or after 300 s.
wait_for_serial() {
    local started=$SECONDS
    until [ -f "$serial" ] && tr -d '\r' <"$serial" | grep -qE "$1"; do
        kill -0 "$vmm" 2>/dev/null || fail "hvmm ended before the guest printed '$1': $(cat "$vmm_log")"
        ((SECONDS - started < 300)) || fail "the guest did not print '$1' within 300 s"
        sleep 0.2
    done
}

# The fault boots commit with --no-takeover-on-commit: what they prove is
# the store's and the agent's recovery at the next start, the path a host
# without live takeover takes (a commit final at once). The trial's own
# faults are cut in takeover_test.cc and 50-hvupdate-apply.sh.
#
# run_fault_boots KIND: one hvmm start per point, the plan for KIND on each,
# so every boot ends with its fault: the guest's reset ends hvmm (reset);
# the host kills hvmm, or hvmm kills itself inside the commit (kill-hvmm).
# After each, the host's store is whole; at the start of the next boot the
# guest's state after it is checked; the last boot applies 0.1.2.
run_fault_boots() {
    local kind=$1 plan n=0 point
    plan=$(fault_plan "$kind")
    for point in $FAULT_POINTS; do
        n=$((n + 1))
        local name=$n-$kind-$point
        if [ "$kind:$point" = kill-hvmm:committing ]; then
            HVMM_TEST_CRASH_AFTER=committing start_update_vm "$name" "hvkit.test=hvupdate $plan" \
                --allow-hypervisor-update --no-takeover-on-commit --state-dir "$STATE"
            wait_for_guest "$vmm"
            [ "$status" = 137 ] || fail "($name) hvmm exited with $status, not killed inside its commit"
        elif [ "$kind" = kill-hvmm ]; then
            start_update_vm "$name" "hvkit.test=hvupdate $plan" --allow-hypervisor-update --no-takeover-on-commit --state-dir "$STATE"
            wait_for_serial '^hvupdate-hook: kill hvmm now'
            kill -9 "$vmm"
            wait "$vmm" 2>/dev/null || true
        else
            run_update_vm "$name" "hvkit.test=hvupdate $plan" --allow-hypervisor-update --no-takeover-on-commit --state-dir "$STATE"
        fi
        tr -d '\r' <"$serial" >"$serial.txt"
        grep -q "^hvupdate-hook: fault $kind at $point" "$serial.txt" ||
            fail "($name) the guest did not cut the apply at $point: $(grep '^hvupdate' "$serial.txt" | tail -n 3)"
        [ "$n" = 1 ] || check_state $((n - 1)) "$kind" "$prev"
        store_release --pending-ok
        case $point:$kind:$release in
            # hvmm died right after journaling its decision to commit:
            # `current` may or may not be switched; the next start finishes.
            committing:*:0.1.1 | committing:kill-hvmm:pending | committing:kill-hvmm:none) ;;
            committing:*) fail "($name) the host had committed, yet its store is at $release" ;;
            *:none) ;;
            *) fail "($name) cut before the commit, yet the host's store is at $release" ;;
        esac
        prev=$point
    done
    run_update_vm "$((n + 1))-$kind-after" "hvkit.test=hvupdate $plan" --allow-hypervisor-update --no-takeover-on-commit --state-dir "$STATE"
    check_state "$n" "$kind" "$prev"
    check_after_faults
}
