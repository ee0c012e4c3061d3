#!/usr/bin/env bash
# testhost-boots.sh [BUILD_DIR] [BOOTS] [PARALLEL]: the test host's failure
# rate per guest boot, hvmm against QEMU's own guest, with the test host's
# KVM tracepoints as the evidence (issue 12, docs/test-host.md).
#
# One test-host boot (tests/system/testhost.sh) does two things:
#  1. What each VMM presents: one 1-vCPU boot each of hvmm and QEMU microvm
#     (-cpu host; bench/vmm-peer.sh's peer) with the test host's
#     kvm:kvm_cpuid and kvm:kvm_msr tracepoints on. Every CPUID leaf the
#     guest read, with the registers it got, and every MSR it touched (and
#     whether KVM refused it with #GP) are written per VMM (cpuid-VMM.txt,
#     msr-VMM.txt) and compared (cpuid.diff, msr.diff).
#  2. BOOTS boots to init and back out of each of hvmm (1 and 2 vCPUs) and
#     QEMU (1 and 2 vCPUs), PARALLEL of them at a time, interleaved, with
#     kvm:kvm_exit, kvm:kvm_inj_exception and kvm:kvm_entry recorded into a
#     ring. A boot that fails (no init within HVKIT_INIT_DEADLINE seconds, a
#     triple fault, a VMM error) freezes the ring and keeps it
#     (boots/NAME/trace.txt): the guest's last exits and injected
#     exceptions before it died. On SVM the state a VMM reads after
#     KVM_EXIT_SHUTDOWN is already the reset state, so this ring is where the
#     faulting RIP is seen.
# Prints one line a boot and the tally per VMM; exit status 0 when every
# boot passed, 1 otherwise.
#
#   BUILD_DIR  default build/dev (needs hvmm and hvkit-kvm-probe)
#   BOOTS      boots per VMM and vCPU count, default 10
#   PARALLEL   VMs at a time, default 1
# Environment: HVKIT_TESTHOST_QEMU (another QEMU for the test host, e.g. one
# from bookworm-backports), HVKIT_BOOTS_VMMS ("hvmm qemu"), HVKIT_BOOTS_CPUS
# ("1 2"), HVKIT_INIT_DEADLINE (240). Results: BUILD_DIR/testhost-boots/.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/vmm-peer.sh

if [ "${1:-}" != --inside ]; then
    BUILD_DIR=$(cd "${1:-build/dev}" && pwd)
    BOOTS=${2:-10}
    PARALLEL=${3:-1}
    for n in "$BOOTS" "$PARALLEL"; do
        [[ $n =~ ^[1-9][0-9]*$ ]] || { echo "testhost-boots.sh: '$n' is not a positive count" >&2; exit 2; }
    done
    for tool in "$BUILD_DIR/hypervisor/hvmm" "$BUILD_DIR/tests/system/hvkit-kvm-probe"; do
        [ -x "$tool" ] || { echo "testhost-boots.sh: missing $tool (build the tree first)" >&2; exit 2; }
    done
    env_file=$(bench_guest_image "$BUILD_DIR")
    nv=$(echo ${HVKIT_BOOTS_VMMS:-hvmm qemu} | wc -w)
    nc=$(echo ${HVKIT_BOOTS_CPUS:-1 2} | wc -w)
    # ~25 s a boot in the test host, PARALLEL at a time (not quite faster).
    timeout=$((300 + 40 * nv * nc * BOOTS / PARALLEL + 25 * PARALLEL))
    HVKIT_TESTHOST_STALL=600 bench_in_test_host scripts/testhost-boots.sh "$BUILD_DIR" \
        "$BUILD_DIR/testhost-boots" "$timeout" "$env_file" "$BOOTS" "$PARALLEL"
    exit
fi

# --- inside the test host ----------------------------------------------------
BUILD_DIR=$2
# shellcheck disable=SC1090
source "$3"
BOOTS=$4
PARALLEL=$5
HVMM=$BUILD_DIR/hypervisor/hvmm
read -r -a VMMS <<<"${HVKIT_BOOTS_VMMS:-hvmm qemu}"
read -r -a CPUS <<<"${HVKIT_BOOTS_CPUS:-1 2}"
out=$HVKIT_RESULTS
mkdir -p "$out/boots"
tracing=/sys/kernel/tracing
[ -e "$tracing/trace" ] || mount -t tracefs nodev "$tracing"

bench_environment
echo "test host kernel: $(uname -r); boots: $BOOTS per VMM and vCPU count, $PARALLEL at a time"

# trace_events EVENT...: the ring holds only these kvm events from now on,
# empty. With kvm_exit among them, the first SVM shutdown exit (exit code
# 0x7f: a guest triple fault) stops the ring, so it ends at the fault.
trace_events() {
    echo 0 >"$tracing/tracing_on"
    echo >"$tracing/set_event"
    echo '!traceoff if exit_reason == 127' >"$tracing/events/kvm/kvm_exit/trigger" 2>/dev/null || true
    local e
    for e in "$@"; do echo "kvm:$e" >>"$tracing/set_event"; done
    if [[ " $* " == *" kvm_exit "* ]]; then
        echo 'traceoff if exit_reason == 127' >"$tracing/events/kvm/kvm_exit/trigger"
    fi
    echo 8192 >"$tracing/buffer_size_kb"
    echo >"$tracing/trace"
    echo 1 >"$tracing/tracing_on"
}

# boot DIR VMM CPUS: one boot to init and out; writes DIR/result:
# "ok SECONDS" or "failed WHY".
boot() {
    local dir=$1 vmm=$2 cpus=$3 status=0 t0=$SECONDS
    mkdir -p "$dir"
    local serial
    serial=$(mktemp /dev/shm/hvkit-boot.XXXXXX)
    vmm_command "$vmm" "$cpus" 256 "$serial" exit
    "${cmd[@]}" >"$dir/vmm.log" 2>&1 &
    local pid=$!
    while kill -0 "$pid" 2>/dev/null; do
        if ((SECONDS - t0 > ${HVKIT_INIT_DEADLINE:-240})) &&
            ! grep -q '^hvkit-guest: init reached' "$serial"; then
            kill -9 "$pid" 2>/dev/null
            break
        fi
        sleep 0.5
    done
    wait "$pid" || status=$?
    tr -d '\r' <"$serial" >"$dir/serial.log"
    rm -f "$serial"
    local why=""
    if grep -q 'triple fault' "$dir/vmm.log"; then
        why="triple fault: $(grep -m1 'triple fault' "$dir/vmm.log")"
    elif ! grep -q '^hvkit-guest: init reached' "$dir/serial.log"; then
        why="no init (status $status, $(wc -c <"$dir/serial.log") console bytes; last: $(tail -n 1 "$dir/serial.log" | cut -c1-100))"
    elif [ "$status" != 0 ]; then
        why="status $status: $(tail -n 1 "$dir/vmm.log")"
    elif ! grep -qE '^hvkit-guest: (poweroff|reboot) now' "$dir/serial.log"; then
        why="ended before its power-off (status $status; last: $(tail -n 1 "$dir/serial.log" | cut -c1-100))"
    fi
    if [ -n "$why" ]; then
        echo "failed $why" >"$dir/result"
    else
        echo "ok $((SECONDS - t0))" >"$dir/result"
    fi
}

# --- 1. the CPUID and MSRs each VMM presents ---------------------------------
echo
echo "CPUID and MSRs as the guest saw them (one 1-vCPU boot each, kvm_cpuid/kvm_msr):"
for vmm in "${VMMS[@]}"; do
    trace_events kvm_cpuid kvm_msr
    boot "$out/presented/$vmm" "$vmm" 1
    echo 0 >"$tracing/tracing_on"
    cp "$tracing/trace" "$out/presented/$vmm/trace.txt"
    # func idx -> registers; the APIC id (leaf 1 ebx[31:24], 0xb edx) is per vCPU.
    sed -n 's/.*kvm_cpuid: \(func [0-9a-f]* idx [0-9a-f]*\) \(rax [0-9a-f]* rbx [0-9a-f]* rcx [0-9a-f]* rdx [0-9a-f]*\).*/\1 \2/p' \
        "$out/presented/$vmm/trace.txt" | sort -u >"$out/cpuid-$vmm.txt"
    sed -n 's/.*kvm_msr: \(msr_[a-z]*\) \([0-9a-f]*\) = 0x[0-9a-f]*\( (#GP)\)\{0,1\}.*/\1 \2\3/p' \
        "$out/presented/$vmm/trace.txt" | sort -u >"$out/msr-$vmm.txt"
    echo "  $vmm: $(cat "$out/presented/$vmm/result"); $(wc -l <"$out/cpuid-$vmm.txt") CPUID leaves, $(wc -l <"$out/msr-$vmm.txt") MSR accesses, $(grep -c '#GP' "$out/msr-$vmm.txt") refused"
done
if [ -f "$out/cpuid-hvmm.txt" ] && [ -f "$out/cpuid-qemu.txt" ]; then
    diff "$out/cpuid-qemu.txt" "$out/cpuid-hvmm.txt" >"$out/cpuid.diff" || true
    diff "$out/msr-qemu.txt" "$out/msr-hvmm.txt" >"$out/msr.diff" || true
    echo "  CPUID leaves that differ (< QEMU, > hvmm):"
    sed 's/^/    /' "$out/cpuid.diff" | grep -E '^    [<>]' || echo "    none"
    echo "  MSR accesses that differ (< QEMU, > hvmm):"
    sed 's/^/    /' "$out/msr.diff" | grep -E '^    [<>]' || echo "    none"
fi

# --- 2. the boots ------------------------------------------------------------
echo
echo "Boots (kvm_exit, kvm_entry, kvm_inj_exception, kvm_inj_virq, kvm_msr, kvm_pio into a ring"
echo "that a triple fault stops; kept on a failure):"
trace_events kvm_exit kvm_entry kvm_inj_exception kvm_inj_virq kvm_msr kvm_pio
jobs_list=()
for ((i = 1; i <= BOOTS; i++)); do
    for cpus in "${CPUS[@]}"; do
        for vmm in "${VMMS[@]}"; do jobs_list+=("$vmm-${cpus}cpu-$i $vmm $cpus"); done
    done
done
running=()
report() {
    local name=$1 dir=$out/boots/$1 result
    result=$(cat "$dir/result" 2>/dev/null || echo "failed no result")
    echo "  $name: $result"
    if [[ $result == failed* ]]; then
        echo 0 >"$tracing/tracing_on"
        cp "$tracing/trace" "$dir/trace.txt"
        echo 1 >"$tracing/tracing_on"
        echo "    trace kept: $dir/trace.txt ($(wc -l <"$dir/trace.txt") lines)"
    fi
}
for job in "${jobs_list[@]}"; do
    read -r name vmm cpus <<<"$job"
    while ((${#running[@]} >= PARALLEL)); do
        wait -n || true
        still=()
        for r in "${running[@]}"; do
            if kill -0 "${r%% *}" 2>/dev/null; then still+=("$r"); else report "${r#* }"; fi
        done
        running=("${still[@]}")
    done
    boot "$out/boots/$name" "$vmm" "$cpus" &
    running+=("$! $name")
done
for r in "${running[@]}"; do
    wait "${r%% *}" || true
    report "${r#* }"
done
echo 0 >"$tracing/tracing_on"

echo
echo "Tally (the test host's QEMU: the runner's 'test host QEMU' line above):"
failed=0
for vmm in "${VMMS[@]}"; do
    for cpus in "${CPUS[@]}"; do
        ok=$(cat "$out"/boots/"$vmm-${cpus}cpu-"*/result 2>/dev/null | grep -c '^ok' || true)
        bad=$(cat "$out"/boots/"$vmm-${cpus}cpu-"*/result 2>/dev/null | grep -c '^failed' || true)
        failed=$((failed + bad))
        printf '  %-5s %s vCPU(s): %s ok, %s failed\n' "$vmm" "$cpus" "$ok" "$bad"
    done
done
[ "$failed" = 0 ]
