#!/usr/bin/env bash
# hvkit-timeout: 60
# The place scenarios run in is fit for them: /dev/kvm is there and creates
# VMs that run real-mode and 64-bit guest code, the build tree is visible,
# the results directory is writable, and (in the test host) modprobe finds
# the kernel's modules.
set -euo pipefail
source "$(dirname "$0")/../lib/common.sh"

echo "running in: ${HVKIT_TESTHOST:-?} ($(uname -r), $(nproc) cpus)"
[ -c /dev/kvm ] || fail "/dev/kvm is missing or not a character device"

# KVM_GET_API_VERSION and KVM_CREATE_VM, straight through ioctl(2).
/usr/bin/python3 - <<'PY' || fail "KVM_CREATE_VM did not work"
import fcntl, os
KVM_GET_API_VERSION, KVM_CREATE_VM = 0xAE00, 0xAE01
kvm = os.open("/dev/kvm", os.O_RDWR | os.O_CLOEXEC)
api = fcntl.ioctl(kvm, KVM_GET_API_VERSION)
if api != 12:
    raise SystemExit(f"KVM API version {api}, expected 12")
vm = fcntl.ioctl(kvm, KVM_CREATE_VM, 0)
print(f"KVM API version {api}; KVM_CREATE_VM gave fd {vm}")
PY

build=${HVKIT_BUILD_DIR:?HVKIT_BUILD_DIR is not set (ctest sets it)}
[ -r "$build/CMakeCache.txt" ] || fail "the build tree $build is not visible"
echo "build tree visible: $build"

# The probe runs two tiny guests; here both must finish (how fast depends on
# the machine; the verdict is informational).
probe=${HVKIT_KVM_PROBE:-$build/tests/system/hvkit-kvm-probe}
"$probe" | tee "$HVKIT_SCENARIO_DIR/kvm-probe.txt" || true
if grep -qE 'deadline|KVM_|unexpected|refused' "$HVKIT_SCENARIO_DIR/kvm-probe.txt"; then
    fail "a probe guest did not run to its end on this /dev/kvm"
fi
echo "results directory writable: $HVKIT_SCENARIO_DIR"

if [ "${HVKIT_TESTHOST:-}" = vm ]; then
    modprobe -n -v nf_tables >/dev/null || fail "modprobe cannot resolve modules in the test host"
    echo "modprobe resolves modules ($(uname -r))"
fi
echo "PASS"
