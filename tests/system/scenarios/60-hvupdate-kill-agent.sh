#!/bin/bash
# hvkit-timeout: 600
# The agent killed (SIGKILL) at each step of an apply, in one boot: after
# the download, mid-transfer, once both sides have staged, and inside the
# commit (the hypervisor has committed, the guest's extensions are not
# switched yet). After each kill `hvupdate status` recovers: the old release
# on both sides and the transaction undone, or (cut in the commit) the new
# release on both sides and the transaction finished; never a mix. Then
# `hvupdate apply` upgrades to the next release and completes.
set -euo pipefail
source "$(dirname "$0")/../lib/guest-boot.sh"
source "$(dirname "$0")/../lib/update-fixture.sh"
source "$(dirname "$0")/../lib/update-faults.sh"

make_fault_fixture "$HVKIT_SCENARIO_DIR/w"

UPDATE_VM_CPUS=1 run_update_vm kill-agent "hvkit.test=hvupdate $(fault_plan kill-agent)" \
    --allow-hypervisor-update --no-takeover-on-commit --state-dir "$STATE"
grep -E '^hvupdate-hook: ' "$serial.txt" || true
n=0
for point in $FAULT_POINTS; do
    n=$((n + 1))
    grep -q "^hvupdate-hook: fault kill-agent at $point" "$serial.txt" ||
        fail "the agent was not cut at $point: $(grep '^hvupdate' "$serial.txt" | tail -n 3)"
    check_state "$n" kill-agent "$point"
done
check_after_faults
echo "PASS"
