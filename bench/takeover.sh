#!/usr/bin/env bash
# Benchmark: the blackout of a live takeover (issue 14, docs/live-takeover.md),
# against two peers in the same test-host boot, at two sizes of touched guest
# RAM (256 MiB and 1 GiB, a 2-vCPU guest with that much more room):
#   - hvmm's own pause and resume (`hvmm control pause`, `resume`): the floor;
#   - QEMU's local migration of the same guest (microvm, -accel kvm, its RAM a
#     shared file both QEMUs map, capability x-ignore-shared: only device and
#     CPU state moves), from one QEMU process to a new one, as a takeover
#     moves from one hvmm process to a new one.
# Each is measured twice: by the host (hvmm: status's took_over.blackout_us,
# pause to every vCPU running again; QEMU: query-migrate's "downtime";
# pause/resume: the two control calls' wall time) and by the guest
# (bench/gapwatch.cc: the longest gap in a tight CLOCK_MONOTONIC loop around
# the event, the same yardstick for all three). gapwatch also times a pass
# over the touched memory every 500 ms: the first pass after a takeover
# refaults every page into the new VM's nested page tables, reported beside
# the undisturbed median.
#
# usage: bench/takeover.sh [BUILD_DIR] [ROUNDS] [SIZES]
#   BUILD_DIR  default build/dev (hvmm, hvmm-next, the guest image with
#              gapwatch: ctest -R system.images)
#   ROUNDS     events per VMM and size, default 3
#   SIZES      MiB of touched guest RAM, default "256 1024"
# Results: BUILD_DIR/bench/takeover-results/ (runs.tsv: one line an event).
# Absolute times in the test host are TCG times: read the ratios.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/vmm-peer.sh

if [ "${1:-}" != --inside ]; then
    BUILD_DIR=$(cd "${1:-build/dev}" && pwd)
    ROUNDS=${2:-3}
    SIZES=${3:-256 1024}
    [[ $ROUNDS =~ ^[1-9][0-9]*$ ]] || { echo "bench/takeover.sh: ROUNDS must be a positive number" >&2; exit 2; }
    [[ $SIZES =~ ^[1-9][0-9]*( [1-9][0-9]*)*$ ]] || { echo "bench/takeover.sh: SIZES must be MiB numbers separated by spaces" >&2; exit 2; }
    env_file=$BUILD_DIR/images/guest/guest.env
    for need in "$BUILD_DIR/hypervisor/hvmm" "$BUILD_DIR/hypervisor/hvmm-next" "$env_file"; do
        [ -e "$need" ] || { echo "missing $need (build the tree; ctest -R system.images)" >&2; exit 2; }
    done
    # The 1 GiB guest and its QEMU peer's shared RAM file fit beside the
    # test host's own use only with more than the default 2 GiB.
    HVKIT_TESTHOST_MEM=${HVKIT_TESTHOST_MEM:-3584} bench_in_test_host bench/takeover.sh \
        "$BUILD_DIR" "$BUILD_DIR/bench/takeover-results" $((600 + 240 * ROUNDS)) "$env_file" "$ROUNDS" "$SIZES"
    exit
fi

# --- inside the test host ----------------------------------------------------
BUILD_DIR=$2
# shellcheck disable=SC1090
source "$3"
ROUNDS=$4
SIZES=$5
HVMM=$BUILD_DIR/hypervisor/hvmm
HVMM_NEXT=$BUILD_DIR/hypervisor/hvmm-next
out=$HVKIT_RESULTS/takeover
mkdir -p "$out"
work=$(mktemp -d /tmp/hvkit-takeover-bench.XXXXXX)  # sockets: not on the share
runs=$out/runs.tsv
printf 'size_mib\tvmm\tevent\tround\thost_ms\tguest_gap_ms\trefault_pass_ms\tpass_median_ms\n' >"$runs"
steps=$out/steps.tsv  # the takeover's blackout by step (status's took_over.steps_us)
printf 'size_mib\tround\tstep\tus\n' >"$steps"
bench_environment

# wait_line FILE PATTERN SECONDS: until FILE has a line matching PATTERN.
wait_line() {
    local until=$((SECONDS + $3))
    until [ -f "$1" ] && tr -d '\r' <"$1" | grep -qE "$2"; do
        ((SECONDS < until)) || { echo "bench/takeover.sh: no '$2' in $1 within $3 s" >&2; tail -n 5 "$1" >&2; return 1; }
        sleep 0.2
    done
}
# guest_after FILE OFFSET: "GAP REFAULT MEDIAN" from gapwatch's lines after
# byte OFFSET of FILE (the longest gap; the first slow pass), "-" for none.
guest_after() {
    tail -c +$(($2 + 1)) "$1" | tr -d '\r' | awk '
        /^gapwatch: gap / { if ($3 + 0 > gap) gap = $3 + 0 }
        /^gapwatch: pass / && !pass { pass = $3 + 0; median = $6 + 0 }
        END { printf "%s %s %s\n", gap ? gap : "-", pass ? pass : "-", median ? median : "-" }'
}
size_of() { stat -c %s "$1" 2>/dev/null || echo 0; }
ms_since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", (b - a) * 1000 }'; }
record() { printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$@" >>"$runs"; }

cmdline_for() { echo "$(bench_base_cmdline) hvkit.bench=takeover hvkit.touch_mib=$1"; }

# --- hvmm: pause/resume and takeover ------------------------------------------
bench_hvmm() {
    local mib=$1 mem=$(($1 + 512)) serial=$out/hvmm-$1.serial sock=$work/hvmm.sock r
    "$HVMM" run --kernel "$HVKIT_GUEST_KERNEL" --initrd "$HVKIT_GUEST_INITRD" \
        --cmdline "$(cmdline_for "$mib")" --mem "${mem}M" --cpus 2 --serial-log "$serial" \
        --serial-input none --control "$sock" >"$out/hvmm-$mib.log" 2>&1 &
    wait_line "$serial" '^gapwatch: ready' 400
    sleep 2
    for ((r = 1; r <= ROUNDS; r++)); do
        local off t0 host gap refault median
        off=$(size_of "$serial")
        t0=$EPOCHREALTIME
        "$HVMM" control "$sock" pause >/dev/null
        "$HVMM" control "$sock" resume >/dev/null
        host=$(ms_since "$t0")
        sleep 4
        read -r gap refault median < <(guest_after "$serial" "$off")
        record "$mib" hvmm pause-resume "$r" "$host" "$gap" "$refault" "$median"

        off=$(size_of "$serial")
        local bin=$HVMM_NEXT status
        ((r % 2)) || bin=$HVMM
        "$HVMM" control "$sock" takeover --binary "$bin" >/dev/null
        sleep 4
        # Asked once the successor's vCPUs run: the blackout ends there.
        status=$("$HVMM" control "$sock" status)
        host=$(sed -n 's/.*"blackout_us":\([0-9]*\).*/\1/p' <<<"$status" | awk '{ printf "%.1f", $1 / 1000 }')
        sed -n 's/.*"steps_us":{\([^}]*\)}.*/\1/p' <<<"$status" | tr -d '"' | tr ',:' '\n\t' |
            sed "s/^/$mib\t$r\t/" >>"$steps"
        read -r gap refault median < <(guest_after "$serial" "$off")
        record "$mib" hvmm takeover "$r" "${host:--}" "$gap" "$refault" "$median"
    done
    "$HVMM" control "$sock" shutdown >/dev/null 2>&1 || true
    sleep 1
}

# --- QEMU: local migration with x-ignore-shared -------------------------------
qemu_start() {  # NAME SERIAL MIB MEM EXTRA...
    local name=$1 serial=$2 mib=$3 mem=$4
    shift 4
    qemu-system-x86_64 -accel kvm -cpu host -m "${mem}M" -smp 2 -bios qboot.rom \
        -nodefaults -no-user-config -display none -no-reboot \
        -object "memory-backend-file,id=mem,size=${mem}M,mem-path=$work/ram/guest,share=on" \
        -M microvm,x-option-roms=off,isa-serial=on,rtc=off,memory-backend=mem \
        -serial "file:$serial" -kernel "$HVKIT_GUEST_KERNEL" -initrd "$HVKIT_GUEST_INITRD" \
        -append "$(cmdline_for "$mib")" -qmp "unix:$work/$name.qmp,server=on,wait=off" "$@" \
        >"$out/qemu-$mib-$name.log" 2>&1 &
    local until=$((SECONDS + 30))
    until [ -S "$work/$name.qmp" ]; do
        ((SECONDS < until)) || { echo "bench/takeover.sh: QEMU $name has no monitor" >&2; return 1; }
        sleep 0.1
    done
}
qmp() { python3 bench/qmp.py "$@"; }
IGNORE_SHARED='{"execute":"migrate-set-capabilities","arguments":{"capabilities":[{"capability":"x-ignore-shared","state":true}]}}'

bench_qemu() {
    local mib=$1 mem=$(($1 + 512)) r src=q0 serial=$out/qemu-$1-q0.serial
    mkdir -p "$work/ram"
    mount -t tmpfs -o "size=$((mem + 64))m" tmpfs "$work/ram"
    qemu_start q0 "$serial" "$mib" "$mem"
    wait_line "$serial" '^gapwatch: ready' 400
    sleep 2
    for ((r = 1; r <= ROUNDS; r++)); do
        local dst=q$r dst_serial=$out/qemu-$mib-q$r.serial result downtime gap refault median
        qemu_start "$dst" "$dst_serial" "$mib" "$mem" -incoming defer
        qmp "$work/$dst.qmp" "$IGNORE_SHARED" \
            "{\"execute\":\"migrate-incoming\",\"arguments\":{\"uri\":\"unix:$work/mig-$r.sock\"}}" >/dev/null
        qmp "$work/$src.qmp" "$IGNORE_SHARED" \
            "{\"execute\":\"migrate\",\"arguments\":{\"uri\":\"unix:$work/mig-$r.sock\"}}" >/dev/null
        for _ in $(seq 600); do
            result=$(qmp "$work/$src.qmp" '{"execute":"query-migrate"}')
            grep -qE '"status": "(completed|failed|cancelled)"' <<<"$result" && break
            sleep 0.1
        done
        grep -q '"status": "completed"' <<<"$result" || { echo "QEMU migration $r: $result" >&2; return 1; }
        downtime=$(sed -n 's/.*"downtime": \([0-9]*\).*/\1/p' <<<"$result")
        qmp "$work/$src.qmp" '{"execute":"quit"}' >/dev/null || true
        sleep 4
        read -r gap refault median < <(guest_after "$dst_serial" 0)
        record "$mib" qemu migrate "$r" "${downtime:--}" "$gap" "$refault" "$median"
        src=$dst
    done
    qmp "$work/$src.qmp" '{"execute":"quit"}' >/dev/null || true
    sleep 1
    umount "$work/ram"
}

for mib in $SIZES; do
    echo "== $mib MiB touched: hvmm"
    bench_hvmm "$mib"
    echo "== $mib MiB touched: QEMU"
    bench_qemu "$mib"
done

echo
echo "Blackout, median of $ROUNDS events, ms (host's measure / the guest's longest clock gap):"
echo
median_of() {  # SIZE VMM EVENT COLUMN
    awk -F'\t' -v s="$1" -v v="$2" -v e="$3" -v c="$4" \
        'NR > 1 && $1 == s && $2 == v && $3 == e && $c != "-" { print $c }' "$runs" | median
}
echo "| touched RAM | hvmm pause+resume | hvmm takeover | QEMU local migration | takeover ÷ QEMU (guest) | takeover ÷ pause+resume (guest) | first pass after takeover / median pass |"
echo "|---:|---:|---:|---:|---:|---:|---:|"
for mib in $SIZES; do
    pr_h=$(median_of "$mib" hvmm pause-resume 5) pr_g=$(median_of "$mib" hvmm pause-resume 6)
    tk_h=$(median_of "$mib" hvmm takeover 5) tk_g=$(median_of "$mib" hvmm takeover 6)
    qm_h=$(median_of "$mib" qemu migrate 5) qm_g=$(median_of "$mib" qemu migrate 6)
    rf=$(median_of "$mib" hvmm takeover 7) rm=$(median_of "$mib" hvmm takeover 8)
    printf '| %s MiB | %s / %s | %s / %s | %s / %s | %s | %s | %s / %s |\n' "$mib" \
        "${pr_h:--}" "${pr_g:--}" "${tk_h:--}" "${tk_g:--}" "${qm_h:--}" "${qm_g:--}" \
        "$(ratio "${tk_g:-0}" "${qm_g:-0}")" "$(ratio "${tk_g:-0}" "${pr_g:-0}")" "${rf:--}" "${rm:--}"
done
echo
echo "takeover at 1 GiB ÷ at 256 MiB (guest gap): $(ratio "$(median_of 1024 hvmm takeover 6)" "$(median_of 256 hvmm takeover 6)")"
echo
echo "The takeover's blackout by step, median µs (status's took_over.steps_us):"
echo
for mib in $SIZES; do
    line="| $mib MiB |"
    for step in pause quiesce save message send restore commit start; do
        line+=" $step $(awk -F'\t' -v s="$mib" -v t="$step" 'NR > 1 && $1 == s && $3 == t { print $4 }' "$steps" | median) |"
    done
    echo "$line"
done
rm -rf "$work"
