#!/bin/bash
# hvkit-timeout: 900
# hvmm killed (SIGKILL) at each step of an apply, one hvmm start each: by the
# host after the download, mid-transfer and once both sides have staged; by
# itself inside its commit (HVMM_TEST_CRASH_AFTER=committing: the switch is
# journaled, `current` not yet switched). After each, the host's store is
# whole (nothing committed, or the commit pending); the next start rolls a
# journaled commit forward, and in its guest `hvupdate status` recovers to
# the old release on both sides or the new one on both, never a mix. Then
# `hvupdate apply` upgrades to the next release and completes.
set -euo pipefail
source "$(dirname "$0")/../lib/guest-boot.sh"
source "$(dirname "$0")/../lib/update-fixture.sh"
source "$(dirname "$0")/../lib/update-faults.sh"

make_fault_fixture "$HVKIT_SCENARIO_DIR/w"
UPDATE_VM_CPUS=1
run_fault_boots kill-hvmm
echo "PASS"
