#!/bin/bash
# hvkit-timeout: 420
# What the update path must refuse, by the agent and by hvmm on its own.
# The repository (valid TUF metadata throughout) offers 0.1.1 (trusted),
# 0.1.2 signed by a key no trust store knows, and 0.0.9 (trusted, a
# downgrade). In a VM with the update permission: `hvupdate apply` (newest:
# 0.1.2) and `apply --version 0.0.9` are refused by the agent; hvchan-push,
# which skips the agent's checks, hands both to hvmm, which refuses them
# itself. In a VM without the permission: `hvupdate apply --version 0.1.1`
# is refused before its download (hvmm's INFO says no permission) and
# hvchan-push of the same package is refused by hvmm. Every refusal
# exits 3, and afterwards the host has committed nothing.
set -euo pipefail
source "$(dirname "$0")/../lib/guest-boot.sh"
source "$(dirname "$0")/../lib/update-fixture.sh"

update_fixture_begin "$HVKIT_SCENARIO_DIR/w"
"$HVPKG" keygen --out "$W/rogue-key.json" >/dev/null
update_fixture_release 0.1.2 "$W/rogue-key.json" hvkit-0.1.2-rogue.hvpkg
update_fixture_release 0.0.9 "$W/release-key.json" hvkit-0.0.9.hvpkg
update_fixture_serve
trap 'kill ${vmm:-} 2>/dev/null || true; cleanup_update_fixture' EXIT

# boot_refusals TEST NAME [HVMM FLAGS...]: one boot with hvkit.test=TEST.
boot_refusals() {
    local test=$1 name=$2
    shift 2
    run_update_vm "$name" "hvkit.test=$test" "$@"
    grep '^hvupdate-refusal' "$serial.txt" || true
}

# refused STEP WHY: STEP exited 3 (refused) and its output matches WHY.
refused() {
    grep -qx "hvupdate-refusal: $1 exit 3" "$serial.txt" || fail "$1 was not refused (exit 3)"
    grep -E "^hvupdate-refusal: $1: " "$serial.txt" | grep -qiE "$2" || fail "$1: the refusal does not say '$2'"
}

# nothing_committed: the host's store has no committed release.
nothing_committed() {
    local out
    out=$("$HVMM" --version --state-dir "$STATE")
    ! grep -q '^committed:' <<<"$out" || fail "the host committed a release: $out"
    [ ! -e "$STATE/current" ] || fail "the host's store has a current release"
}

boot_refusals hvupdate-refusals refusals --allow-hypervisor-update --state-dir "$STATE"
refused apply-unknown-key 'signature|key'
refused apply-downgrade 'not above'
refused push-unknown-key 'signature|key'
refused push-downgrade 'rollback|floor|not above'
nothing_committed

boot_refusals hvupdate-noperm noperm
refused apply-noperm 'permission|denied'
refused push-noperm 'permission|denied'
nothing_committed
echo "PASS"
