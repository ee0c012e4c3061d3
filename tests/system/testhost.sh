#!/usr/bin/env bash
# testhost.sh — run a command where a stock Linux guest can be booted with KVM.
#
#   tests/system/testhost.sh [--timeout S] [--stall S] [--results DIR] [--mode auto|direct|vm] -- COMMAND...
#   tests/system/testhost.sh --shell     # a shell in the test host on this terminal
#
# If this machine's /dev/kvm runs unmodified guests (hardware virtualization),
# COMMAND runs here directly. Otherwise (PVM-backed KVM, no /dev/kvm) it runs
# inside the test host: a QEMU TCG VM with Debian's kernel and kvm_amd (a
# nested /dev/kvm), this machine's root file system shared read-only over 9p
# under a tmpfs overlay, entered with chroot, so the build tree's binaries run
# unchanged. One boot runs COMMAND once; COMMAND may run several scenarios.
#
# COMMAND runs in the current directory with PATH, HOME, locale and every
# HVKIT_*, GTEST_* and *SAN_OPTIONS variable as here, plus
#   HVKIT_TESTHOST=vm|direct   where it runs
#   HVKIT_RESULTS=DIR          the results directory, writable, the same path
#                              here and inside; files COMMAND leaves there are
#                              what comes back from the test host
# The results directory (--results, else a new one under $TMPDIR) ends up with
#   run.sh        the command as run        output.log   its stdout and stderr
#   exit-status   its exit status           serial.log   the test host's console
#   timing        path=, boot_to_command_s=, whole_run_s=
# Exit status: COMMAND's; 124 on timeout (QEMU killed, the serial log's tail
# printed); 125 when the test host failed before COMMAND finished, which
# includes a hung test host: with --stall S, nothing written below the
# results directory (console, output, scenario logs) for S seconds kills
# QEMU (the test host under TCG has hung in nested KVM; without this only
# --timeout would end it).
#
# Environment: HVKIT_TESTHOST_MODE (as --mode), HVKIT_TESTHOST_TIMEOUT (as
# --timeout, default 600), HVKIT_TESTHOST_CPUS (2), HVKIT_TESTHOST_MEM (MiB,
# 2048), HVKIT_TESTHOST_QEMU (the QEMU binary, default qemu-system-x86_64
# on PATH), HVKIT_TESTHOST_QEMU_ARGS (more QEMU options, split on spaces),
# HVKIT_KVM_PROBE (the hvkit-kvm-probe binary), HVKIT_IMAGE_DIR (where
# the images are, default build/images; the test host's are built if missing).
# docs/test-host.md explains the detection and shows the timings.
set -euo pipefail

repo=$(cd "$(dirname "$0")/../.." && pwd)
timeout=${HVKIT_TESTHOST_TIMEOUT:-600}
stall=${HVKIT_TESTHOST_STALL:-0}
mode=${HVKIT_TESTHOST_MODE:-auto}
results=""
shell=""

say() { echo "testhost: $*" >&2; }
usage() {
    sed -n '4p' "$0" | sed 's/^# *//' >&2
    exit 2
}

while (($#)); do
    case $1 in
        --timeout) timeout=${2:?}; shift 2 ;;
        --stall) stall=${2:?}; shift 2 ;;
        --results) results=${2:?}; shift 2 ;;
        --mode) mode=${2:?}; shift 2 ;;
        --shell) shell=1; mode=vm; shift ;;
        --) shift; break ;;
        -h | --help) usage ;;
        *) say "unknown option '$1'"; usage ;;
    esac
done
(($# || shell)) || { say "no COMMAND after --"; usage; }
[[ $timeout =~ ^[0-9]+$ ]] || { say "--timeout takes whole seconds, not '$timeout'"; exit 2; }
[[ $stall =~ ^[0-9]+$ ]] || { say "--stall takes whole seconds (0: off), not '$stall'"; exit 2; }

# --- which path: direct or the test host -------------------------------------
# The probe runs a real-mode and a long-mode loop on /dev/kvm and times them
# (tests/system/kvm_probe.cc): the one reliable test. Without the probe binary,
# fall back to what the kernel says: kvm_pvm loaded means PVM; vmx/svm in
# /proc/cpuinfo with kvm_intel/kvm_amd loaded means hardware virtualization.
find_probe() {
    local p
    for p in "${HVKIT_KVM_PROBE:-}" "$repo/build/tests/system/hvkit-kvm-probe"; do
        [ -n "$p" ] && [ -x "$p" ] && { echo "$p"; return 0; }
    done
    return 1
}
decide_mode() {
    if [ ! -e /dev/kvm ]; then
        reason="no /dev/kvm"; mode=vm; return
    fi
    local probe
    if probe=$(find_probe); then
        local out rc=0
        out=$("$probe" 2>&1) || rc=$?
        reason="$(echo "$out" | sed -n 's/^kvm-probe: //p' | paste -sd ';' | sed 's/;/; /g')"
        case $rc in
            0) mode=direct ;;
            *) mode=vm ;;
        esac
        return
    fi
    if [ -d /sys/module/kvm_pvm ]; then
        reason="PVM-backed KVM (/sys/module/kvm_pvm; no probe binary to confirm)"; mode=vm
    elif { [ -d /sys/module/kvm_intel ] || [ -d /sys/module/kvm_amd ]; } && grep -qwE 'vmx|svm' /proc/cpuinfo; then
        reason="kvm_intel/kvm_amd with vmx/svm (no probe binary to confirm)"; mode=direct
    else
        reason="no hardware virtualization found (no probe binary to confirm)"; mode=vm
    fi
}
reason="forced by --mode/HVKIT_TESTHOST_MODE"
case $mode in
    auto) decide_mode ;;
    direct | vm) ;;
    *) say "--mode takes auto, direct or vm, not '$mode'"; exit 2 ;;
esac

# --- the results directory and the command script ---------------------------
# A given directory is emptied first (a stale exit-status must never pass for
# this run's), but only if it is empty or one this script made.
if [ -n "$shell" ]; then
    :
elif [ -n "$results" ]; then
    mkdir -p "$results"
    results=$(cd "$results" && pwd)
    if [ -n "$(ls -A "$results")" ] && [ ! -e "$results/.hvkit-testhost" ] && [ ! -e "$results/run.sh" ]; then
        say "--results $results: not empty and not a results directory of testhost.sh; refusing to empty it"
        exit 2
    fi
    find "$results" -mindepth 1 -delete
else
    results=$(mktemp -d "${TMPDIR:-/tmp}/hvkit-testhost.XXXXXX")
fi
case $results in
    *[[:space:],]*) say "results directory '$results' has a space or comma (kernel command line, QEMU options): use another"; exit 2 ;;
esac

if [ -z "$shell" ]; then
    : >"$results/.hvkit-testhost"
    {
        echo "#!/bin/bash"
        echo "# Written by tests/system/testhost.sh: the command, its environment and directory."
        while read -r name; do
            if [[ $name =~ ^(PATH|HOME|USER|LOGNAME|LANG|LC_[A-Z]+|TZ|TMPDIR|HVKIT_.*|GTEST_.*|[A-Z]+SAN_OPTIONS|CTEST_.*)$ ]]; then
                printf 'export %s=%q\n' "$name" "${!name}"
            fi
        done < <(compgen -e | LC_ALL=C sort)
        printf 'export HVKIT_TESTHOST=%q HVKIT_RESULTS=%q\n' "$mode" "$results"
        printf 'cd %q || exit 125\n' "$PWD"
        printf 'exec'
        printf ' %q' "$@"
        printf '\n'
    } >"$results/run.sh"
fi

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }
t0=$(now)

if [ "$mode" = direct ]; then
    say "path: direct, COMMAND runs on this machine ($reason)"
    say "results: $results"
    : >"$results/started"
    set +e
    timeout -k 10 "$timeout" /bin/bash "$results/run.sh" </dev/null 2>&1 | tee "$results/output.log"
    rc=${PIPESTATUS[0]}
    set -e
    echo "$rc" >"$results/exit-status"
    t1=$(now)
    printf 'path=direct\nboot_to_command_s=0\nwhole_run_s=%s\n' "$(elapsed "$t0" "$t1")" >"$results/timing"
    [ "$rc" -ne 124 ] || say "timed out after $timeout s"
    say "exit status $rc; whole run $(elapsed "$t0" "$t1") s"
    exit "$rc"
fi

# --- the test host -----------------------------------------------------------
say "path: test host, a QEMU TCG VM with nested kvm_amd ($reason)"
image_env=${HVKIT_IMAGE_DIR:-$repo/build/images}/testhost/testhost.env
if [ ! -f "$image_env" ]; then
    say "no test host image yet; building it (scripts/images/build-testhost-initramfs.sh)"
    image_env=$("$repo/scripts/images/build-testhost-initramfs.sh")
fi
# shellcheck disable=SC1090
. "$image_env"
# HVKIT_TESTHOST_QEMU: another QEMU for the test host (a path), e.g. one
# unpacked from bookworm-backports to compare versions (docs/test-host.md).
qemu=${HVKIT_TESTHOST_QEMU:-qemu-system-x86_64}
command -v "$qemu" >/dev/null || { say "no $qemu: run scripts/setup.sh"; exit 125; }
say "test host QEMU: $("$qemu" --version | head -n 1)"

# shellcheck disable=SC2054 # commas inside QEMU option values
qemu_args=(
    -accel tcg -cpu max -m "${HVKIT_TESTHOST_MEM:-2048}" -smp "${HVKIT_TESTHOST_CPUS:-2}"
    -nodefaults -no-user-config -display none -no-reboot
    -kernel "$TESTHOST_KERNEL" -initrd "$TESTHOST_INITRD"
    -virtfs local,path=/,mount_tag=hvkit_root,security_model=none,readonly=on,multidevs=remap
)
# shellcheck disable=SC2206
qemu_args+=(${HVKIT_TESTHOST_QEMU_ARGS:-})
if [ -n "$shell" ]; then
    say "a shell in the test host's chroot; leaving it powers the test host off (Ctrl-A X quits QEMU)"
    exec "$qemu" "${qemu_args[@]}" -serial mon:stdio \
        -append "console=ttyS0 panic=-1 hvkit.shell=1 hvkit.modules=$TESTHOST_MODULES"
fi

serial=$results/serial.log
# QEMU's human monitor, so a hung test host can be asked where its vCPUs are
# (give_up). A local path: the results directory may be a share.
monitor=$(mktemp -u "${TMPDIR:-/tmp}/hvkit-testhost-monitor.XXXXXX")
# The test host kernel's text symbols (nokaslr: the same every boot), to name
# those RIPs; the first boot of a kernel release writes them (hvkit.kallsyms=1).
kallsyms=$(dirname "$image_env")/kallsyms-$TESTHOST_KERNEL_RELEASE
want_kallsyms=$([ -s "$kallsyms" ] || echo " hvkit.kallsyms=1")
say "serial log: $serial"
say "results: $results"
qemu_pid=""
tail_pid=""
cleanup() {
    [ -z "$qemu_pid" ] || kill "$qemu_pid" 2>/dev/null || true
    [ -z "$tail_pid" ] || kill "$tail_pid" 2>/dev/null || true
    rm -f "$monitor"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

"$qemu" "${qemu_args[@]}" \
    -serial "file:$serial" \
    -monitor "unix:$monitor,server,nowait" \
    -append "console=ttyS0 panic=-1 nokaslr hvkit.results=$results hvkit.modules=$TESTHOST_MODULES$want_kallsyms" \
    -virtfs "local,path=$results,mount_tag=hvkit_results,security_model=none,multidevs=remap" \
    </dev/null >"$results/qemu.log" 2>&1 &
qemu_pid=$!

# COMMAND's output, live, as the test host writes it through the share.
tail -n +1 -F -s 0.2 --pid="$qemu_pid" "$results/output.log" 2>/dev/null &
tail_pid=$!

# stalled: nothing under the results directory changed for $stall seconds,
# the test host's own console aside: a frozen test host's kernel keeps
# printing soft lockup and RCU stall reports there (a CI rehearsal on
# 2026-12-07 hung 10 minutes so, unseen by this check).
stalled() {
    local newest
    newest=$(find "$results" -type f ! -path "$serial" -printf '%T@\n' 2>/dev/null | sort -n | tail -n 1)
    [ -n "$newest" ] && (($(date +%s) - ${newest%.*} >= stall))
}

keep_kallsyms() {
    [ -s "$kallsyms" ] || [ ! -s "$results/kallsyms" ] || cp "$results/kallsyms" "$kallsyms" || true
}

# give_up STATUS WHY: kills QEMU, says WHY with the serial log's tail, exits
# STATUS. First it asks QEMU where the test host's vCPUs are
# (testhost-registers.txt: RIP, CPL, the kernel symbol; nokaslr above).
give_up() {
    keep_kallsyms
    if python3 "$repo/tests/system/lib/testhost_registers.py" "$monitor" "$kallsyms" \
        >"$results/testhost-registers.txt" 2>&1; then
        say "where the test host's vCPUs were ($results/testhost-registers.txt):"
        sed -n '/^sample/,/^$/p' "$results/testhost-registers.txt" >&2
    fi
    kill "$qemu_pid" 2>/dev/null || true
    wait "$qemu_pid" 2>/dev/null || true
    qemu_pid=""
    kill "$tail_pid" 2>/dev/null || true
    say "$2; QEMU killed. Last lines of $serial:"
    tail -n 40 "$serial" >&2 || true
    exit "$1"
}

started=""
deadline=$(awk -v t="$t0" -v s="$timeout" 'BEGIN { printf "%d", t + s }')
next_look=$(($(date +%s) + 5))
while kill -0 "$qemu_pid" 2>/dev/null; do
    if [ -z "$started" ] && [ -e "$results/started" ]; then
        started=$(now)
    fi
    if ((stall > 0 && $(date +%s) >= next_look)); then
        next_look=$(($(date +%s) + 5))
        stalled && give_up 125 "nothing written to $results for $stall s: the test host hangs"
    fi
    (($(date +%s) < deadline)) || give_up 124 "timed out after $timeout s"
    sleep 0.2
done
qemu_rc=0
wait "$qemu_pid" || qemu_rc=$?
qemu_pid=""
wait "$tail_pid" 2>/dev/null || true
tail_pid=""
keep_kallsyms
t1=$(now)
[ -n "$started" ] || { [ -e "$results/started" ] && started=$t1; } || true

boot=$([ -n "$started" ] && elapsed "$t0" "$started" || echo "")
printf 'path=vm\nboot_to_command_s=%s\nwhole_run_s=%s\n' "$boot" "$(elapsed "$t0" "$t1")" >"$results/timing"
if [ ! -f "$results/exit-status" ]; then
    say "the test host stopped before COMMAND finished (QEMU exit status $qemu_rc). Last lines of $serial:"
    tail -n 40 "$serial" >&2 || true
    [ ! -s "$results/qemu.log" ] || { say "QEMU said:"; cat "$results/qemu.log" >&2; }
    exit 125
fi
rc=$(cat "$results/exit-status")
say "exit status $rc; command started ${boot:-?} s after QEMU did; whole run $(elapsed "$t0" "$t1") s"
exit "$rc"
