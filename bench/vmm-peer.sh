# Shared by bench/boot.sh and bench/memory.sh (sourced, not run): the guest
# image, the two VMMs' command lines, starting one with its serial console
# time-stamped line by line, and the test host round trip.
#
# The peer is QEMU's microvm machine with KVM: the closest thing QEMU has to
# hvmm (no PCI, no firmware tables beyond what Linux needs, qboot instead of
# SeaBIOS, no option ROMs). Both boot the same bzImage and initramfs with the
# same memory, vCPU count and kernel command line; each gets only what it
# needs to end the VM:
#   hvmm: hvkit.poweroff=reboot reboot=k  (no ACPI: the guest resets through
#         the i8042, hvmm exits 0)
#   QEMU: hvkit.poweroff=1  (ACPI power-off through microvm's GED; microvm has
#         no i8042, and reboot=k there spends ~80 s in the kernel's keyboard
#         controller retries before it falls back to a triple fault)

# The kernel command line both get (build-guest.sh's, without its
# hvkit.poweroff=1, which each VMM's own ending replaces). With
# BENCH_KERNEL_LOG=1 also without "quiet" (the diagnostic boots: the whole
# kernel log, slow in the test host since every console byte is an exit).
bench_base_cmdline() {
    local arg out=()
    for arg in $HVKIT_GUEST_CMDLINE; do
        case $arg in
            hvkit.poweroff=*) ;;
            quiet) [ "${BENCH_KERNEL_LOG:-0}" = 1 ] || out+=("$arg") ;;
            *) out+=("$arg") ;;
        esac
    done
    echo "${out[*]}"
}

# bench_guest_image BUILD_DIR: builds (or reuses: the builder is reproducible
# and replaces nothing that did not change) the guest image without hooks in
# BUILD_DIR/images/bench-guest and prints its guest.env. No hooks: what runs
# after "init reached" is only the guest's power-off.
bench_guest_image() {
    scripts/images/build-guest.sh --out "$1/images/bench-guest" 2>/dev/null >/dev/null ||
        { echo "bench: scripts/images/build-guest.sh failed (run it by hand to see why)" >&2; return 1; }
    echo "$1/images/bench-guest/guest.env"
}

# vmm_command VMM CPUS MEM_MIB SERIAL END [MEMFD]: sets the array `cmd` to the
# VMM's command line. VMM: hvmm, hvmm2 (another hvmm binary,
# $HVKIT_BENCH_HVMM2: a before/after comparison of a change), qemu, or
# qemu-memfd (QEMU with its guest RAM in a memfd, as hvmm's is). END: exit (the guest ends the VM after init) or
# idle (it stays up). MEMFD=memfd is the same as VMM qemu-memfd (memory.sh);
# boot.sh's peer is QEMU's default (anonymous RAM).
vmm_command() {
    local vmm=$1 cpus=$2 mem=$3 serial=$4 end=$5 memfd=${6:-}
    if [ "$vmm" = qemu-memfd ]; then vmm=qemu memfd=memfd; fi
    local cmdline
    cmdline=$(bench_base_cmdline)
    case $vmm in
        hvmm | hvmm2)
            [ "$end" = idle ] || cmdline+=" hvkit.poweroff=reboot reboot=k"
            local bin=$HVMM
            [ "$vmm" = hvmm ] || bin=${HVKIT_BENCH_HVMM2:?hvmm2 needs HVKIT_BENCH_HVMM2}
            cmd=("$bin" run --kernel "$HVKIT_GUEST_KERNEL" --initrd "$HVKIT_GUEST_INITRD"
                --cmdline "$cmdline" --mem "${mem}M" --cpus "$cpus" --serial-log "$serial")
            ;;
        qemu)
            [ "$end" = idle ] || cmdline+=" hvkit.poweroff=1"
            local machine=microvm,x-option-roms=off,isa-serial=on,rtc=off
            # qboot, named: QEMU 10's default microvm firmware is SeaBIOS,
            # which cannot load the kernel without the option ROMs we turn off.
            cmd=(qemu-system-x86_64 -accel kvm -cpu host -m "$mem" -smp "$cpus" -bios qboot.rom
                -nodefaults -no-user-config -display none -no-reboot)
            if [ "$memfd" = memfd ]; then
                cmd+=(-object "memory-backend-memfd,id=mem,size=${mem}M,share=on")
                machine+=,memory-backend=mem
            fi
            cmd+=(-M "$machine" -serial "file:$serial"
                -kernel "$HVKIT_GUEST_KERNEL" -initrd "$HVKIT_GUEST_INITRD" -append "$cmdline")
            ;;
        *) echo "bench: unknown VMM '$vmm'" >&2; return 2 ;;
    esac
}

# start_vmm DIR: starts `cmd` (its serial console given as $BENCH_FIFO) with
# the console going through that FIFO to a reader that stamps every line with
# the wall clock: $BENCH_STAMPED holds "EPOCHREALTIME LINE". Both live in a
# local tmpfs ($BENCH_TMP: the results share is 9p, which has no FIFOs, and
# every write to it is a round trip). Sets `vmm_pid`, `reader_pid` and
# `t_start`. The reader is a forked subshell using only builtins on a quiet
# console (a few hundred bytes), so it costs neither VMM anything
# measurable; it ends when the VMM closes the FIFO. The VMM's stdout and
# stderr go to DIR/vmm.log; finish_vmm DIR copies the stamped log there.
BENCH_TMP=$(mktemp -d /dev/shm/hvkit-bench.XXXXXX 2>/dev/null || mktemp -d)
BENCH_FIFO=$BENCH_TMP/serial.fifo
BENCH_STAMPED=$BENCH_TMP/serial.stamped
trap 'rm -rf "$BENCH_TMP"' EXIT
start_vmm() {
    local dir=$1
    rm -f "$BENCH_FIFO" "$BENCH_STAMPED"
    mkfifo "$BENCH_FIFO"
    (
        while IFS= read -r line; do
            printf '%s %s\n' "$EPOCHREALTIME" "${line%$'\r'}"
        done <"$BENCH_FIFO" >"$BENCH_STAMPED"
    ) &
    reader_pid=$!
    t_start=$EPOCHREALTIME
    "${cmd[@]}" >"$dir/vmm.log" 2>&1 &
    vmm_pid=$!
}
finish_vmm() {
    wait "$reader_pid" 2>/dev/null || true
    cp "$BENCH_STAMPED" "$1/serial.stamped" 2>/dev/null || : >"$1/serial.stamped"
}

# bench_watchdog SECONDS PID: run in the background; kills PID after SECONDS
# unless killed first (TERM ends it and its sleep at once).
bench_watchdog() {
    local sleeper
    sleep "$1" &
    sleeper=$!
    trap 'kill $sleeper 2>/dev/null; exit 0' TERM
    wait "$sleeper" && kill "$2" 2>/dev/null
    exit 0
}

# since T0 T: T - T0 in seconds with 3 decimals (EPOCHREALTIME values).
since() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }

# stamp_of FILE PATTERN: the time of FILE's (a stamped serial log) first line
# matching PATTERN (ERE, against the line without its stamp), or empty.
stamp_of() {
    [ -f "$1" ] || return 0
    awk -v re="$2" '{ t = $1; sub(/^[^ ]* /, "") } $0 ~ re { print t; exit }' "$1"
}

median() { sort -n | awk '{ a[NR] = $1 } END { if (NR) print (NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2) }'; }
minimum() { sort -n | head -n1; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }

# bench_in_test_host SCRIPT BUILD_DIR RESULTS TIMEOUT ARGS...: runs SCRIPT
# --inside BUILD_DIR ARGS... in one test-host boot (or directly, where this
# machine's KVM runs stock kernels), results in RESULTS.
bench_in_test_host() {
    local script=$1 build=$2 results=$3 timeout=$4
    shift 4
    HVKIT_KVM_PROBE=$build/tests/system/hvkit-kvm-probe \
        tests/system/testhost.sh --timeout "$timeout" --results "$results" -- \
        "$script" --inside "$build" "$@"
}

# bench_environment: one line per fact about where this runs. With
# HVKIT_BENCH_SHMEM_THP=advise (or always, within_size, never) it first sets
# the host's transparent huge pages for shmem, which memfd guest RAM is
# (hvmm's, and QEMU's with memory-backend-memfd); the kernel's default is
# never. Anonymous RAM (QEMU's default) follows .../enabled instead.
bench_environment() {
    local thp=/sys/kernel/mm/transparent_hugepage
    if [ -n "${HVKIT_BENCH_SHMEM_THP:-}" ]; then
        echo "$HVKIT_BENCH_SHMEM_THP" >"$thp/shmem_enabled" ||
            echo "bench: cannot set $thp/shmem_enabled to $HVKIT_BENCH_SHMEM_THP" >&2
    fi
    echo "transparent huge pages: anonymous $(cat "$thp/enabled" 2>/dev/null), shmem $(cat "$thp/shmem_enabled" 2>/dev/null)"
    echo "where: ${HVKIT_TESTHOST:-?} ($(nproc) CPUs, $(awk '/MemTotal/ { printf "%d MiB", $2 / 1024 }' /proc/meminfo), $(uname -r))"
    echo "cpu: $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1)"
    echo "hvmm: $("$HVMM" --version)"
    echo "qemu: $(qemu-system-x86_64 -version | head -n1)"
    echo "guest: $(basename "$HVKIT_GUEST_KERNEL") $HVKIT_GUEST_KERNEL_RELEASE ($(stat -c %s "$HVKIT_GUEST_KERNEL") bytes), initramfs $(stat -c %s "$HVKIT_GUEST_INITRD") bytes"
    echo "cmdline (both): $(bench_base_cmdline)"
}
