#!/bin/bash
# hvkit-timeout: 900
# The guest reset (reboot -f; hvmm ends with the guest) at each step of an
# apply, one hvmm start each: after the download, mid-transfer, once both
# sides have staged, and inside the commit (the hypervisor has committed,
# the guest's extensions are not switched yet). After each, the host's store
# is whole (nothing committed before the commit, 0.1.1 after it), and in the
# next boot `hvupdate status` recovers to the old release on both sides or
# the new one on both, never a mix. Then `hvupdate apply` upgrades to the
# next release and completes. One vCPU: a reset from a 2-vCPU guest stops the
# other vCPU by IPI and NMI first, a path on which the test host's nested KVM
# once triple-faulted the guest.
set -euo pipefail
source "$(dirname "$0")/../lib/guest-boot.sh"
source "$(dirname "$0")/../lib/update-fixture.sh"
source "$(dirname "$0")/../lib/update-faults.sh"

make_fault_fixture "$HVKIT_SCENARIO_DIR/w"
UPDATE_VM_CPUS=1
run_fault_boots reset
echo "PASS"
