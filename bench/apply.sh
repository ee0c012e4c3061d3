#!/usr/bin/env bash
# Benchmark: `hvupdate apply` of a release whose hypervisor part is 64 MiB
# (hvmm-next plus 64 MiB of random bytes), by phase, next to the floor
# measured in the same guest boot: the same package's bytes copied into the
# guest over the same network (HTTP GET with busybox nc onto the same data
# disk, synced) and hashed (sha256sum). Phases, from the guest's own clock
# at each line hvupdate prints:
#   download   "downloading"  -> "verifying"    (TUF refresh before it excluded)
#   verify     "verifying"    -> "transferring" (the guest's trust store, every file hashed)
#   transfer   "transferring" -> "the hypervisor verifies" (BEGIN + 128 KiB hashed chunks)
#   stage      "the hypervisor verifies" -> "installing" (hvmm: hashes, extracts, fsyncs)
#   install    "installing"   -> "committing"   (the guest's extensions, staged)
#   commit     "committing"   -> "committed"    (hvmm's slot switch, then the guest's)
# Runs in one test-host boot (or directly where KVM boots stock kernels).
#
# usage: bench/apply.sh [BUILD_DIR] [PAD_MIB]    (default build, 64)
# Results: BUILD_DIR/bench/apply-results/ (the guest's serial log in apply/).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "${1:-}" != --inside ]; then
    BUILD_DIR=$(cd "${1:-build}" && pwd)
    PAD_MIB=${2:-64}
    [[ $PAD_MIB =~ ^[1-9][0-9]*$ ]] || { echo "bench/apply.sh: PAD_MIB must be a positive number" >&2; exit 2; }
    for t in hypervisor/hvmm hypervisor/hvmm-next packages/hvpkg/hvpkg packages/hvrepo/hvrepo \
        tests/system/hvkit-kvm-probe; do
        [ -x "$BUILD_DIR/$t" ] || { echo "missing $BUILD_DIR/$t: build the tree first" >&2; exit 2; }
    done
    ctest --test-dir "$BUILD_DIR" -R '^system\.images$' >/dev/null ||
        { echo "bench/apply.sh: the guest image did not build (ctest -R system.images -V)" >&2; exit 1; }
    HVKIT_KVM_PROBE=$BUILD_DIR/tests/system/hvkit-kvm-probe HVKIT_GUEST_ENV=$BUILD_DIR/images/guest/guest.env \
        HVKIT_SOURCE_DIR=$PWD HVKIT_BUILD_DIR=$BUILD_DIR \
        tests/system/testhost.sh --timeout 1200 --results "$BUILD_DIR/bench/apply-results" -- \
        "$PWD/bench/apply.sh" --inside "$PAD_MIB"
    exit
fi

# --- inside the test host ----------------------------------------------------
PAD_MIB=$2
# shellcheck disable=SC1090,SC1091
source "$HVKIT_GUEST_ENV"
source tests/system/lib/guest-boot.sh
source tests/system/lib/update-fixture.sh
out=$HVKIT_RESULTS/apply
mkdir -p "$out"
HVKIT_SCENARIO_DIR=$out
# Everything on the test host's local file systems: the results share is 9p,
# whose every write is a round trip, and the data disk is on the guest's path.
local_dir=$(mktemp -d "${TMPDIR:-/tmp}/hvkit-apply-bench.XXXXXX")
trap 'kill ${vmm:-} 2>/dev/null || true; cleanup_update_fixture; rm -rf "$local_dir"' EXIT
UPDATE_FIXTURE_PAD_MIB=$PAD_MIB
UPDATE_FIXTURE_DISK_MIB=$((PAD_MIB * 4 + 96))
update_fixture_begin "$local_dir/w"
target=$(cd "$W/repo" && find targets -name '*hvkit-0.1.1.hvpkg' | head -n 1)
[ -n "$target" ] || fail "no hvkit-0.1.1.hvpkg in the repository's targets"
echo "/$target" >"$W/data/hvkit/bench-target"
update_fixture_serve

echo "where: ${HVKIT_TESTHOST:-?} ($(nproc) CPUs, $(uname -r)); hvmm: $("$HVMM" --version | head -n 1)"
echo "package: $(stat -c %s "$W/repo/$target") bytes (hypervisor part: hvmm-next + $PAD_MIB MiB random)"
run_update_vm bench hvkit.test=apply-bench --allow-hypervisor-update --no-takeover-on-commit --state-dir "$STATE"
grep '^apply-bench: ' "$serial.txt" | sed 's/^apply-bench: //' >"$out/stamped.txt"
grep -q 'committed 0.1.1' "$out/stamped.txt" || fail "the apply did not commit 0.1.1: $(tail -n 20 "$out/stamped.txt")"

# at PATTERN: the guest clock of the first stamped line matching PATTERN.
at() { awk -v re="$1" '{ t = $1; sub(/^[^ ]* /, "") } $0 ~ re { print t; exit }' "$out/stamped.txt"; }
dt() { awk -v a="$(at "$1")" -v b="$(at "$2")" 'BEGIN { printf "%.2f", b - a }'; }
copy=$(dt '^floor-start' '^floor-copied')
hash=$(dt '^floor-copied' '^floor-hashed')
floor=$(dt '^floor-start' '^floor-hashed')
download=$(dt 'hvupdate: downloading' 'hvupdate: verifying')
verify=$(dt 'hvupdate: verifying' 'hvupdate: transferring')
transfer=$(dt 'hvupdate: transferring' 'hvupdate: the hypervisor verifies')
stage=$(dt 'hvupdate: the hypervisor verifies' 'hvupdate: installing')
install=$(dt 'hvupdate: installing' 'hvupdate: committing')
commit=$(dt 'hvupdate: committing' 'hvupdate: committed ')
total=$(dt 'hvupdate: downloading' 'hvupdate: committed ')
whole=$(dt '^apply-start' '^apply-end')
echo
echo "| phase | seconds (guest clock) |"
echo "|---|---:|"
for p in download verify transfer stage install commit; do printf '| %s | %s |\n' "$p" "${!p}"; done
printf '| **apply, download to committed** | **%s** |\n' "$total"
printf '| apply, whole command (with TUF refresh, recovery check) | %s |\n' "$whole"
printf '| floor: copy into the guest (nc onto the disk, sync) | %s |\n' "$copy"
printf '| floor: hash (sha256sum) | %s |\n' "$hash"
printf '| **floor** | **%s** |\n' "$floor"
echo
echo "apply / floor = $(awk -v a="$total" -v b="$floor" 'BEGIN { printf "%.2f", a / b }') (goal: within 1.5)"
