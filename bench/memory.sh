#!/usr/bin/env bash
# Benchmark: the VMM's own memory. hvmm against QEMU's microvm machine
# (-accel kvm), booting the same guest (bench/vmm-peer.sh) with 256 MiB and 1,
# then 2 vCPUs, and leaving it idle after init (no hvkit.poweroff on the
# command line: the guest's init sleeps). SETTLE seconds after the serial
# console shows "hvkit-guest: init reached", /proc/PID/smaps and
# /proc/PID/status of the VMM process are copied, then the VMM is killed.
#
# Guest RAM is separated from the VMM's own memory by mapping: both VMMs keep
# guest RAM in a memfd (hvmm always: "memfd:hvmm-ram"; QEMU is given
# -object memory-backend-memfd,id=mem,size=256M,share=on and
# -M microvm,memory-backend=mem: "memfd:memory-backend-memfd"), so
#   guest RAM = Rss of that memfd mapping (the pages the guest touched)
#   overhead  = the process's Rss - guest RAM
# split into anonymous (heap, stacks, private copies), file-backed (the
# binary and its libraries, as far as they are resident) and the rest, plus
# the private part of the overhead (Private_Clean + Private_Dirty outside
# guest RAM: what this process alone costs, shared library pages excluded).
# Kernel memory KVM allocates for the VM (page tables, vCPU state) is in
# neither process's Rss and is not counted.
#
# usage: bench/memory.sh [BUILD_DIR] [RUNS] [SETTLE]
#   BUILD_DIR  default build (needs targets hvmm and hvkit-kvm-probe)
#   RUNS       boots per VMM per vCPU count, default 3 (alternating order)
#   SETTLE     seconds to wait after init before sampling, default 3
# Results: BUILD_DIR/bench/memory-results/ (memory/ in it holds every run's
# smaps, status and serial log, and runs.tsv).
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/vmm-peer.sh

if [ "${1:-}" != --inside ]; then
    BUILD_DIR=${1:-build}
    RUNS=${2:-3}
    SETTLE=${3:-3}
    [[ $RUNS =~ ^[1-9][0-9]*$ ]] || { echo "bench/memory.sh: RUNS must be a positive number, not '$RUNS'" >&2; exit 2; }
    [[ $SETTLE =~ ^[0-9]+$ ]] || { echo "bench/memory.sh: SETTLE is whole seconds, not '$SETTLE'" >&2; exit 2; }
    BUILD_DIR=$(cd "$BUILD_DIR" && pwd)
    for tool in "$BUILD_DIR/hypervisor/hvmm" "$BUILD_DIR/tests/system/hvkit-kvm-probe"; do
        [ -x "$tool" ] || { echo "missing $tool: cmake --build $BUILD_DIR --target hvmm hvkit-kvm-probe" >&2; exit 2; }
    done
    env_file=$(bench_guest_image "$BUILD_DIR")
    timeout=$((120 + (30 + SETTLE) * 4 * RUNS + 60))
    bench_in_test_host bench/memory.sh "$BUILD_DIR" "$BUILD_DIR/bench/memory-results" "$timeout" \
        "$env_file" "$RUNS" "$SETTLE"
    exit
fi

# --- inside the test host ----------------------------------------------------
BUILD_DIR=$2
# shellcheck disable=SC1090
source "$3"
RUNS=$4
SETTLE=$5
HVMM=$BUILD_DIR/hypervisor/hvmm
MEM_MIB=256
out=$HVKIT_RESULTS/memory
mkdir -p "$out"
printf 'cpus\tvmm\trun\trss_kib\tguest_kib\toverhead_kib\tanon_kib\tfile_kib\tother_kib\tprivate_kib\thwm_kib\tthreads\n' >"$out/runs.tsv"

bench_environment
echo "memory: $MEM_MIB MiB, guest idle after init, sampled ${SETTLE}s after 'init reached'"
vmm_command qemu 1 "$MEM_MIB" SERIAL idle memfd
echo "qemu command: ${cmd[*]}"
echo

# smaps_split SMAPS: "RSS GUEST OVERHEAD ANON FILE OTHER PRIVATE" in KiB.
# A mapping header is the line whose first field is an address range; the
# fields after it belong to that mapping. ANON: anonymous pages outside guest
# RAM (heap, stacks, anonymous mappings, and the copied-on-write pages of
# file mappings); FILE: page-cache pages of mapped files (binary, libraries,
# anything the VMM mmaps); OTHER: the rest of the overhead (other shared
# memory, the vDSO).
smaps_split() {
    awk '
        $1 ~ /^[0-9a-f]+-[0-9a-f]+$/ {
            name = (NF >= 6) ? $6 : ""
            guest = (name ~ /^\/memfd:(hvmm-ram|memory-backend-memfd)/)
            file = (name ~ /^\// && name !~ /^\/memfd:/ && name !~ /^\/dev\//)
            next
        }
        $1 == "Rss:" { rss += $2; if (guest) g += $2; else if (file) f += $2 }
        $1 == "Anonymous:" && !guest { a += $2; if (file) f -= $2 }
        ($1 == "Private_Clean:" || $1 == "Private_Dirty:") && !guest { p += $2 }
        END { printf "%d %d %d %d %d %d %d\n", rss, g, rss - g, a, f, rss - g - a - f, p }
    ' "$1"
}

# top_mappings SMAPS: the largest resident mappings outside guest RAM.
top_mappings() {
    awk '
        $1 ~ /^[0-9a-f]+-[0-9a-f]+$/ {
            name = (NF >= 6) ? $6 : "[anonymous]"; perms = $2; next
        }
        $1 == "Size:" { size = $2 }
        $1 == "Rss:" && name !~ /^\/memfd:(hvmm-ram|memory-backend-memfd)/ && $2 > 0 {
            printf "%8d KiB resident of %8d KiB  %s %s\n", $2, size, perms, name
        }
    ' "$1" | sort -rn | awk -v n="${2:-8}" 'NR <= n'  # (head would end sort with SIGPIPE)
}

# sample_once VMM CPUS DIR: boots, waits for init, settles, samples, kills;
# prints the smaps_split fields, then VmHWM and Threads, or "-" on failure.
sample_once() {
    local vmm=$1 cpus=$2 dir=$3 pid waited=0
    mkdir -p "$dir"
    vmm_command "$vmm" "$cpus" "$MEM_MIB" "$BENCH_FIFO" idle memfd
    start_vmm "$dir"
    pid=$vmm_pid
    until [ -n "$(stamp_of "$BENCH_STAMPED" '^hvkit-guest: init reached')" ]; do
        if ! kill -0 "$pid" 2>/dev/null || ((waited >= 480)); then
            kill "$pid" 2>/dev/null || true
            wait "$pid" 2>/dev/null || true
            finish_vmm "$dir"
            echo "-"
            return
        fi
        sleep 0.5
        waited=$((waited + 1))
    done
    sleep "$SETTLE"
    cp "/proc/$pid/smaps" "$dir/smaps"
    cp "/proc/$pid/status" "$dir/status"
    kill -TERM "$pid"
    wait "$pid" 2>/dev/null || true
    finish_vmm "$dir"
    echo "$(smaps_split "$dir/smaps") $(awk '$1 == "VmHWM:" { h = $2 } $1 == "Threads:" { t = $2 } END { print h, t }' "$dir/status")"
}

mib() { awk -v k="$1" 'BEGIN { if (k == "") print "-"; else printf "%.1f", k / 1024 }'; }

failures=0
for cpus in 1 2; do
    echo "$cpus vCPU(s), $MEM_MIB MiB (MiB: RSS = guest RAM + overhead; overhead = anonymous + file + other):"
    for ((i = 1; i <= RUNS; i++)); do
        order=(hvmm qemu)
        ((i % 2)) || order=(qemu hvmm)
        for vmm in "${order[@]}"; do
            read -r -a f < <(sample_once "$vmm" "$cpus" "$out/cpus$cpus/$vmm-$i")
            if [ "${f[0]}" = - ]; then
                echo "  run $i $vmm: FAILED (no init; see $out/cpus$cpus/$vmm-$i)"
                failures=$((failures + 1))
                continue
            fi
            printf '%s\t%s\t%s' "$cpus" "$vmm" "$i" >>"$out/runs.tsv"
            printf '\t%s' "${f[@]}" >>"$out/runs.tsv"
            echo >>"$out/runs.tsv"
            printf '  run %d %-5s RSS %6s = guest RAM %6s + overhead %5s (anon %5s, file %5s, other %4s; private %5s); VmHWM %6s; %s threads\n' \
                "$i" "$vmm" "$(mib "${f[0]}")" "$(mib "${f[1]}")" "$(mib "${f[2]}")" "$(mib "${f[3]}")" \
                "$(mib "${f[4]}")" "$(mib "${f[5]}")" "$(mib "${f[6]}")" "$(mib "${f[7]}")" "${f[8]}"
        done
    done
done

column() {
    awk -F'\t' -v c="$1" -v v="$2" -v f="$3" 'NR > 1 && $1 == c && $2 == v { print $f }' "$out/runs.tsv"
}
echo
echo "VMM memory with the guest idle after init, $MEM_MIB MiB guest, median of $RUNS, MiB:"
echo
echo "| vCPUs | VMM | RSS | guest RAM touched | **overhead** | anonymous | file-backed | other | private overhead | VmHWM | threads |"
echo "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
for cpus in 1 2; do
    for vmm in hvmm qemu; do
        row="| $cpus | $([ "$vmm" = qemu ] && echo "QEMU microvm" || echo hvmm)"
        for fld in 4 5 6 7 8 9 10 11; do
            v=$(mib "$(column "$cpus" "$vmm" "$fld" | median)")
            [ "$fld" = 6 ] && v="**$v**"
            row+=" | $v"
        done
        row+=" | $(column "$cpus" "$vmm" 12 | median) |"
        echo "$row"
    done
done
echo
for cpus in 1 2; do
    h=$(column "$cpus" hvmm 6 | median)
    q=$(column "$cpus" qemu 6 | median)
    verdict=$(awk -v k="$h" 'BEGIN { print (k != "" && k < 5 * 1024) ? "met" : "NOT met" }')
    echo "$cpus vCPU(s): overhead hvmm/QEMU = $(ratio "$h" "$q"); goal (hvmm under 5 MiB): $verdict ($(mib "$h") MiB)"
done
for vmm in hvmm qemu; do
    echo
    echo "$vmm, largest resident mappings outside guest RAM (2 vCPUs, run $RUNS):"
    [ ! -f "$out/cpus2/$vmm-$RUNS/smaps" ] || top_mappings "$out/cpus2/$vmm-$RUNS/smaps" 12
done
[ "$failures" = 0 ] || { echo "bench/memory.sh: $failures boot(s) failed; their logs are in $out"; exit 1; }
