#!/usr/bin/env bash
# testhost-pauses.sh [BUILD_DIR] [CYCLES] [VMMS]: do guests in the test host
# die right after being paused and resumed? (issue 12, docs/test-host.md
# "Triple faults after a pause").
#
# In one test-host boot, for each VMM in VMMS (default "hvmm qemu
# hvmm-pinned"): a 2-vCPU guest touching 256 MiB (bench/gapwatch, the
# takeover benchmark's guest) is paused and resumed CYCLES times (default
# 100), running 0.3 s between: hvmm through `hvmm control pause/resume`,
# QEMU (microvm, -accel kvm) through QMP stop/cont, hvmm-pinned is hvmm with
# all its threads on one test-host CPU (taskset -c 1). A guest that dies is
# reported with the cycle and its VMM's last words; then the next VMM.
# Results: BUILD_DIR/testhost-pauses/pauses.tsv (vmm, cycles done, outcome).
set -uo pipefail
cd "$(dirname "$0")/.."
source bench/vmm-peer.sh

if [ "${1:-}" = --inside ]; then
    BUILD_DIR=$2
    # shellcheck disable=SC1090
    source "$3"
    cycles=$4
    vmms=$5
    HVMM=$BUILD_DIR/hypervisor/hvmm
    work=$(mktemp -d /tmp/hvkit-pauses.XXXXXX)
    out=$HVKIT_RESULTS
    tsv=$out/pauses.tsv
    printf 'vmm\tcycles_done\toutcome\n' >"$tsv"
    cmdline="$(bench_base_cmdline) hvkit.bench=takeover hvkit.touch_mib=256"
    ready() {  # SERIAL PID: until gapwatch is ready; false if PID ended
        local until=$((SECONDS + 400))
        until [ -f "$1" ] && tr -d '\r' <"$1" | grep -q '^gapwatch: ready'; do
            kill -0 "$2" 2>/dev/null && ((SECONDS < until)) || return 1
            sleep 0.5
        done
    }
    for vmm in $vmms; do
        serial=$out/$vmm.serial
        log=$out/$vmm.log
        case $vmm in
            hvmm | hvmm-pinned)
                pin=()
                [ "$vmm" = hvmm ] || pin=(taskset -c 1)
                "${pin[@]}" "$HVMM" run --kernel "$HVKIT_GUEST_KERNEL" --initrd "$HVKIT_GUEST_INITRD" \
                    --cmdline "$cmdline" --mem 768M --cpus 2 --serial-log "$serial" \
                    --serial-input none --control "$work/$vmm.sock" >"$log" 2>&1 &
                pid=$!
                pause() { "$HVMM" control "$work/$vmm.sock" pause >/dev/null 2>&1; }
                resume() { "$HVMM" control "$work/$vmm.sock" resume >/dev/null 2>&1; }
                ;;
            qemu)
                qemu-system-x86_64 -accel kvm -cpu host -m 768M -smp 2 -bios qboot.rom \
                    -nodefaults -no-user-config -display none -no-reboot \
                    -M microvm,x-option-roms=off,isa-serial=on,rtc=off -serial "file:$serial" \
                    -kernel "$HVKIT_GUEST_KERNEL" -initrd "$HVKIT_GUEST_INITRD" -append "$cmdline" \
                    -qmp "unix:$work/qemu.qmp,server=on,wait=off" >"$log" 2>&1 &
                pid=$!
                pause() { python3 bench/qmp.py "$work/qemu.qmp" '{"execute":"stop"}' >/dev/null 2>&1; }
                resume() { python3 bench/qmp.py "$work/qemu.qmp" '{"execute":"cont"}' >/dev/null 2>&1; }
                ;;
            *) echo "testhost-pauses.sh: unknown VMM $vmm" >&2; exit 2 ;;
        esac
        if ! ready "$serial" "$pid"; then
            printf '%s\t0\tdid not boot: %s\n' "$vmm" "$(tail -n 1 "$log")" >>"$tsv"
            kill "$pid" 2>/dev/null
            continue
        fi
        done_cycles=0 outcome=alive
        for ((c = 1; c <= cycles; c++)); do
            pause
            sleep 0.05
            resume
            sleep 0.3
            if ! kill -0 "$pid" 2>/dev/null; then
                outcome="died after cycle $c: $(grep -h 'VM stopped' "$log" | tail -n 1)$(tail -n 2 "$log" | tr '\n' ' ')"
                break
            fi
            done_cycles=$c
        done
        printf '%s\t%s\t%s\n' "$vmm" "$done_cycles" "$outcome" | tee -a "$tsv"
        kill "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
    done
    rm -rf "$work"
    exit 0
fi

BUILD_DIR=$(cd "${1:-build/dev}" && pwd)
cycles=${2:-100}
vmms=${3:-hvmm qemu hvmm-pinned}
[[ $cycles =~ ^[1-9][0-9]*$ ]] || { echo "testhost-pauses.sh: CYCLES must be a positive count" >&2; exit 2; }
env_file=$BUILD_DIR/images/guest/guest.env
[ -e "$env_file" ] || { echo "missing $env_file (ctest -R system.images)" >&2; exit 2; }
bench_in_test_host scripts/testhost-pauses.sh "$BUILD_DIR" "$BUILD_DIR/testhost-pauses" \
    $((900 + 3 * cycles * 3)) "$env_file" "$cycles" "$vmms"
