#!/usr/bin/env bash
# Benchmark: boot to init. hvmm against QEMU's microvm machine (-accel kvm),
# the same Debian kernel and busybox initramfs, the same memory (256 MiB),
# vCPU count (1, then 2) and kernel command line (bench/vmm-peer.sh says what
# each VMM adds to end the VM). Two times per boot, from the VMM's process
# start: to the serial line "hvkit-guest: init reached" (stamped as the VMM
# writes it, through a FIFO), and to the VMM's exit after the guest ended the
# VM. Also the guest's own clock at init ("hvkit-guest: kernel up for N s"),
# so the time before the guest kernel's clock starts (VMM setup, firmware,
# bzImage decompression) shows as the difference.
#
# Everything runs in one test-host boot (tests/system/testhost.sh): on this
# project's machines KVM cannot run a stock kernel, so the VMMs run on the
# test host's nested KVM under TCG. Absolute times there are meaningless;
# the ratio hvmm/QEMU, measured side by side, is the result. One warm-up boot
# of each VMM first (the binaries and images into the test host's caches),
# then RUNS rounds per vCPU count, each round booting both, the order
# alternating (hvmm first in odd rounds, QEMU first in even ones). Median and
# minimum are reported. Then (unless HVKIT_BENCH_KERNEL_LOG_BOOTS=0) one
# diagnostic boot of each without "quiet": where the guest kernel's time goes
# under each VMM, from the kernel log's own timestamps.
#
# usage: bench/boot.sh [BUILD_DIR] [RUNS]
#   BUILD_DIR  default build (needs targets hvmm and hvkit-kvm-probe)
#   RUNS       rounds per vCPU count, default 5
# Environment (for diagnosis; the defaults are the benchmark; HVKIT_*
# variables reach the test host):
#   HVKIT_BENCH_VMMS="hvmm qemu"    add qemu-memfd: QEMU with its guest RAM in a
#                                   memfd like hvmm's (shmem: no transparent
#                                   huge pages, unlike QEMU's default)
#                                   and/or hvmm2: the hvmm binary named by
#                                   HVKIT_BENCH_HVMM2 (a change's before/after)
#   HVKIT_BENCH_CPUS="1 2"          the vCPU counts
#   HVKIT_BENCH_KERNEL_LOG_BOOTS=1  0: no diagnostic boots
# Results: BUILD_DIR/bench/boot-results/ (the test host's results directory;
# boot/ in it holds every run's stamped serial log and runs.tsv).
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/vmm-peer.sh

if [ "${1:-}" != --inside ]; then
    BUILD_DIR=${1:-build}
    RUNS=${2:-5}
    [[ $RUNS =~ ^[1-9][0-9]*$ ]] || { echo "bench/boot.sh: RUNS must be a positive number, not '$RUNS'" >&2; exit 2; }
    BUILD_DIR=$(cd "$BUILD_DIR" && pwd)
    for tool in "$BUILD_DIR/hypervisor/hvmm" "$BUILD_DIR/tests/system/hvkit-kvm-probe"; do
        [ -x "$tool" ] || { echo "missing $tool: cmake --build $BUILD_DIR --target hvmm hvkit-kvm-probe" >&2; exit 2; }
    done
    env_file=$(bench_guest_image "$BUILD_DIR")
    # ~20 s per boot in the test host: 2 warm-ups, 4 * RUNS measured, 2 diagnostic (~45 s each).
    nv=$(echo ${HVKIT_BENCH_VMMS:-hvmm qemu} | wc -w)
    nc=$(echo ${HVKIT_BENCH_CPUS:-1 2} | wc -w)
    timeout=$((120 + 30 * nv * (1 + nc * RUNS) + 150))
    bench_in_test_host bench/boot.sh "$BUILD_DIR" "$BUILD_DIR/bench/boot-results" "$timeout" \
        "$env_file" "$RUNS"
    exit
fi

# --- inside the test host ----------------------------------------------------
BUILD_DIR=$2
# shellcheck disable=SC1090
source "$3"
RUNS=$4
HVMM=$BUILD_DIR/hypervisor/hvmm
MEM_MIB=256
read -r -a VMMS <<<"${HVKIT_BENCH_VMMS:-hvmm qemu}"
read -r -a CPUS <<<"${HVKIT_BENCH_CPUS:-1 2}"
out=$HVKIT_RESULTS/boot
mkdir -p "$out"
printf 'cpus\tvmm\trun\tinit_s\texit_s\tguest_clock_at_init_s\tstatus\n' >"$out/runs.tsv"

bench_environment
echo "memory: $MEM_MIB MiB; hvmm adds: hvkit.poweroff=reboot reboot=k; QEMU adds: hvkit.poweroff=1"
vmm_command qemu 1 "$MEM_MIB" SERIAL exit
echo "qemu command: ${cmd[*]}"
echo

# boot_once VMM CPUS DIR: one boot; prints "INIT EXIT GUEST_CLOCK STATUS"
# (times in seconds from the VMM's start; "-" where the guest never got there).
boot_once() {
    local vmm=$1 cpus=$2 dir=$3 status=0 t_end t_init clock
    mkdir -p "$dir"
    vmm_command "$vmm" "$cpus" "$MEM_MIB" "$BENCH_FIFO" exit
    start_vmm "$dir"
    bench_watchdog 240 "$vmm_pid" &
    local watchdog=$!
    wait "$vmm_pid" || status=$?
    t_end=$EPOCHREALTIME
    kill "$watchdog" 2>/dev/null || true
    wait "$watchdog" 2>/dev/null || true
    finish_vmm "$dir"
    t_init=$(stamp_of "$dir/serial.stamped" '^hvkit-guest: init reached')
    clock=$(awk '{ sub(/^[^ ]* /, "") } /^hvkit-guest: kernel up for / { print $5; exit }' "$dir/serial.stamped")
    printf '%s %s %s %s\n' "$([ -n "$t_init" ] && since "$t_start" "$t_init" || echo -)" \
        "$(since "$t_start" "$t_end")" "${clock:--}" "$status"
}

echo "warm-up (not counted):"
for vmm in "${VMMS[@]}"; do
    read -r init exit clock status < <(boot_once "$vmm" 2 "$out/warmup/$vmm")
    printf '  %-5s init %ss  exit %ss  guest clock at init %ss  status %s\n' "$vmm" "$init" "$exit" "$clock" "$status"
done

failures=0
for cpus in "${CPUS[@]}"; do
    echo
    echo "$cpus vCPU(s), $MEM_MIB MiB:"
    for ((i = 1; i <= RUNS; i++)); do
        # Round i starts with VMM i-1 (mod the count): each goes first in turn.
        order=()
        for ((k = 0; k < ${#VMMS[@]}; k++)); do
            order+=("${VMMS[(i - 1 + k) % ${#VMMS[@]}]}")
        done
        line="  round $i:"
        for vmm in "${order[@]}"; do
            read -r init exit clock status < <(boot_once "$vmm" "$cpus" "$out/cpus$cpus/$vmm-$i")
            printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$cpus" "$vmm" "$i" "$init" "$exit" "$clock" "$status" >>"$out/runs.tsv"
            line+=$(printf '  %s init %ss exit %ss (guest clock %ss)' "$vmm" "$init" "$exit" "$clock")
            if [ "$status" != 0 ] || [ "$init" = - ]; then
                line+=" FAILED (status $status)"
                failures=$((failures + 1))
            fi
        done
        echo "$line"
    done
done

# column CPUS VMM FIELD: that column of the successful runs, one a line.
column() {
    awk -F'\t' -v c="$1" -v v="$2" -v f="$3" \
        'NR > 1 && $1 == c && $2 == v && $7 == 0 && $4 != "-" { print $f }' "$out/runs.tsv"
}
echo
echo "Boot to init, $MEM_MIB MiB, median (min) of $RUNS, seconds from the VMM's start:"
echo
echo "| vCPUs | VMM | to init | to exit | guest clock at init | before the guest clock (init - clock) |"
echo "|---:|---|---:|---:|---:|---:|"
name_of() {
    case $1 in
        qemu) echo "QEMU microvm" ;;
        qemu-memfd) echo "QEMU microvm, memfd RAM" ;;
        hvmm2) echo "hvmm2 ($HVKIT_BENCH_HVMM2)" ;;
        *) echo "$1" ;;
    esac
}
for cpus in "${CPUS[@]}"; do
    for vmm in "${VMMS[@]}"; do
        before=$(awk -F'\t' -v c="$cpus" -v v="$vmm" \
            'NR > 1 && $1 == c && $2 == v && $7 == 0 && $4 != "-" { printf "%.3f\n", $4 - $6 }' "$out/runs.tsv")
        printf '| %s | %s | %.2f (%.2f) | %.2f (%.2f) | %.2f (%.2f) | %.2f (%.2f) |\n' "$cpus" \
            "$(name_of "$vmm")" \
            "$(column "$cpus" "$vmm" 4 | median)" "$(column "$cpus" "$vmm" 4 | minimum)" \
            "$(column "$cpus" "$vmm" 5 | median)" "$(column "$cpus" "$vmm" 5 | minimum)" \
            "$(column "$cpus" "$vmm" 6 | median)" "$(column "$cpus" "$vmm" 6 | minimum)" \
            "$(echo "$before" | median)" "$(echo "$before" | minimum)"
    done
done
echo
echo "| vCPUs | ratio | to init (median) | (min) | to exit (median) | (min) |"
echo "|---:|---|---:|---:|---:|---:|"
for cpus in "${CPUS[@]}"; do
    for pair in hvmm/qemu hvmm/qemu-memfd qemu-memfd/qemu hvmm2/hvmm hvmm2/qemu; do
        a=${pair%/*} b=${pair#*/}
        [[ " ${VMMS[*]} " == *" $a "* && " ${VMMS[*]} " == *" $b "* ]] || continue
        printf '| %s | %s | %s | %s | %s | %s |\n' "$cpus" "$pair" \
            "$(ratio "$(column "$cpus" "$a" 4 | median)" "$(column "$cpus" "$b" 4 | median)")" \
            "$(ratio "$(column "$cpus" "$a" 4 | minimum)" "$(column "$cpus" "$b" 4 | minimum)")" \
            "$(ratio "$(column "$cpus" "$a" 5 | median)" "$(column "$cpus" "$b" 5 | median)")" \
            "$(ratio "$(column "$cpus" "$a" 5 | minimum)" "$(column "$cpus" "$b" 5 | minimum)")"
    done
done

# --- diagnostic boots: the whole kernel log -----------------------------------
if [ "${HVKIT_BENCH_KERNEL_LOG_BOOTS:-1}" = 1 ]; then
    echo
    echo "Diagnostic boots (2 vCPUs, without 'quiet'; not counted): the guest kernel's"
    echo "milestones (kernel clock) and its longest silences under each VMM."
    for vmm in "${VMMS[@]}"; do
        dir=$out/kernel-log/$vmm
        read -r init exit clock status < <(BENCH_KERNEL_LOG=1 boot_once "$vmm" 2 "$dir")
        echo
        echo "$vmm: init ${init}s, exit ${exit}s, guest clock at init ${clock}s, status $status"
        awk '{ sub(/^[^ ]* /, "") }
            /^\[ *[0-9]+\.[0-9]+\]/ {
                t = $0; sub(/^\[ */, "", t); sub(/\].*/, "", t)
                if (n++) { gap = t - prev; if (gap >= 0.3) printf "  gap %6.2fs before [%s] %s\n", gap, t, substr($0, index($0, "]") + 2, 90) }
                prev = t
            }
            /smp: Brought up|Freeing unused kernel|Run \/init|clocksource: Switched|APIC timer|XSAVE|TSC|calibrat|ACPI BIOS Error|Fatal|WARNING|nmi|x2apic enabled|IOAPIC\[/ {
                printf "  %s\n", substr($0, 1, 110)
            }' "$dir/serial.stamped"
    done
fi
[ "$failures" = 0 ] || { echo "bench/boot.sh: $failures boot(s) failed; their logs are in $out"; exit 1; }
