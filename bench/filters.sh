#!/usr/bin/env bash
# Benchmark: the leveraged guest filters against host-only peers running the
# same module code, side by side in one test-host boot (docs/benchmarks.md,
# "Guest filters"):
#   packets  bench_udp_load (closed loop, WINDOW in flight, every 10th
#            packet marked to be dropped) from namespace hvf1 to hvf2:
#              baseline  no filter at all
#              host      bench_filter_peer: hvfilterd's NFQUEUE source with
#                        the chain run in the same host process
#              guest     hvfilterd -> filter rings -> `hvagent filters` in a
#                        VM -> the same chain (pcap_rule.so)
#   files    FILES files of SIZE bytes, every 10th with a test signature:
#              host      bench_scan_peer: read + signature.so in one process
#              guest     bench_scan_peer --open-only under hvfilterd's
#                        fanotify source: each open waits for the guest's
#                        signature.so verdict on the file's content
# Runs in one test-host boot (or directly where KVM boots stock kernels).
#
# usage: bench/filters.sh [BUILD_DIR] [PACKETS] [WINDOW] [FILES]   (default build 20000 64 400)
# HVKIT_BENCH_GUEST_ARGS adds to the guest's command line, e.g.
# hvkit.filters_busy_poll_us=20000 (guest-hooks/50-filters).
# Results: BUILD_DIR/bench/filters-results/ (serial log, tool outputs).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "${1:-}" != --inside ]; then
    BUILD_DIR=$(cd "${1:-build}" && pwd)
    for t in hypervisor/hvmm filters/host/hvfilterd bench/bench_udp_load bench/bench_filter_peer \
        bench/bench_scan_peer bench/bench_make_scan_files tests/system/hvkit-kvm-probe; do
        [ -x "$BUILD_DIR/$t" ] || { echo "missing $BUILD_DIR/$t: build the tree first" >&2; exit 2; }
    done
    ctest --test-dir "$BUILD_DIR" -R '^system\.images$' >/dev/null ||
        { echo "bench/filters.sh: the guest image did not build (ctest -R system.images -V)" >&2; exit 1; }
    HVKIT_KVM_PROBE=$BUILD_DIR/tests/system/hvkit-kvm-probe HVKIT_GUEST_ENV=$BUILD_DIR/images/guest/guest.env \
        HVKIT_SOURCE_DIR=$PWD HVKIT_BUILD_DIR=$BUILD_DIR \
        tests/system/testhost.sh --timeout 1500 --results "$BUILD_DIR/bench/filters-results" -- \
        "$PWD/bench/filters.sh" --inside "${2:-20000}" "${3:-64}" "${4:-400}" "${HVKIT_BENCH_GUEST_ARGS:-}"
    exit
fi

# --- inside the test host ----------------------------------------------------
PACKETS=$2 WINDOW=$3 FILES=$4 GUEST_ARGS=${5:-}
# shellcheck disable=SC1090,SC1091
source "$HVKIT_GUEST_ENV"
source tests/system/lib/guest-boot.sh
out=$HVKIT_RESULTS/filters
mkdir -p "$out"
HVKIT_SCENARIO_DIR=$out
serial=$out/hvmm-serial.log
BIN=$HVKIT_BUILD_DIR/bench
SIGS=$PWD/tests/system/filters/test.sigs
MARKER_RULE='udp[8:4] = 0x48564b49 and udp[12:4] = 0x542d4452 and udp[16:2] = 0x4f50'
FILTERS_UDP_CHAIN="[{\"module\": \"pcap_rule\", \"params\": {\"filter\": \"$MARKER_RULE\", \"action\": \"drop\"}}]"
FILTERS_FILE_CHAIN='[{"module": "signature", "params": {"signatures": "test.sigs"}}]'
source tests/system/lib/filters-fixture.sh
# Deadlines far beyond any wait here: a policy answer would flatter neither side.
start_filters_fixture "$out" 30000
echo "where: ${HVKIT_TESTHOST:-?} ($(nproc) CPUs, $(uname -r)); $PACKETS packets of 64 bytes, window $WINDOW; $FILES files; guest: ${GUEST_ARGS:-defaults}"

load() {
    "$BIN/bench_udp_load" --from-netns hvf1 --to-netns hvf2 --to 10.77.0.2:9000 \
        --packets "$PACKETS" --window "$WINDOW" --payload 64 --drop-marker-every 10 --timeout-ms 5000
}
json_value() { sed -n "s/.*\"$2\":\([0-9.]*\).*/\1/p" <<<"$1"; }

# The receiver the fixture started listens on 9001/9999, not 9000: the load
# tool brings its own.
baseline=$(load)
echo "packets baseline: $baseline"

printf '%s\n' "$FILTERS_UDP_CHAIN" >"$FILTERS_WORK/udp-chain.json"
ip netns exec hvf2 "$BIN/bench_filter_peer" --queue 5 --rule 'udp dport 9000' \
    --modules "$HVKIT_BUILD_DIR/filter-modules" --chain "$FILTERS_WORK/udp-chain.json" \
    >"$out/peer.json" 2>"$out/peer.log" &
peer=$!
wait_until 60 "bench_filter_peer to start" grep -q ': ready:' "$out/peer.log"
host=$(load)
kill -TERM "$peer"
wait "$peer" || fail "bench_filter_peer failed: $(cat "$out/peer.log")"
echo "packets host-only peer: $host; peer: $(cat "$out/peer.json")"

# The scan files, in the watched tmpfs (enlarged) before hvfilterd watches it.
umount "$FILTERS_WATCHED"
mount -t tmpfs -o size=512m tmpfs "$FILTERS_WATCHED"
# Directly in the watched directory: a directory mark covers its children only.
"$BIN/bench_make_scan_files" --dir "$FILTERS_WATCHED" --files "$FILES" --size 65536 \
    --signature-every 10 --signature HVKIT-TEST-SIGNATURE-7f3a >/dev/null
printf '[{"module": "signature", "params": {"signatures": "%s"}}]\n' "$SIGS" >"$FILTERS_WORK/scan-chain.json"
host_scan=$("$BIN/bench_scan_peer" --modules "$HVKIT_BUILD_DIR/filter-modules" \
    --chain "$FILTERS_WORK/scan-chain.json" --dir "$FILTERS_WATCHED")
echo "files host-only peer: $host_scan"

start_filter_vm "$serial" "hvkit.filters_calibrate=1 $GUEST_ARGS"
start_hvfilterd
wait_for_guest_attach
guest_cpu=$(tr -d '\r' <"$serial" | sed -n 's/^hvagent-filters-calibration: //p')
echo "files host-only peer run in the guest (its CPU): $guest_cpu"
guest=$(load)
echo "packets guest chain: $guest"
guest_scan=$("$BIN/bench_scan_peer" --open-only --dir "$FILTERS_WATCHED")
echo "files guest chain: $guest_scan"
filters_stats >"$out/hvfilterd-stats.txt"
stop_hvfilterd

for run in host guest; do
    [ "$(json_value "${!run}" lost)" = 0 ] || echo "note: $run lost packets: ${!run}"
    [ "$(json_value "${!run}" unexpected)" = 0 ] || echo "note: $run saw unexpected packets: ${!run}"
done
[ "$(json_value "$guest_scan" dropped)" = "$(json_value "$host_scan" dropped)" ] ||
    fail "the guest denied $(json_value "$guest_scan" dropped) files, the host peer $(json_value "$host_scan" dropped)"
awk -v b="$(json_value "$baseline" pps)" -v h="$(json_value "$host" pps)" -v g="$(json_value "$guest" pps)" \
    -v bl="$(json_value "$baseline" p50_us)" -v hl="$(json_value "$host" p50_us)" -v gl="$(json_value "$guest" p50_us)" \
    -v hp="$(json_value "$host" p99_us)" -v gp="$(json_value "$guest" p99_us)" -v bp="$(json_value "$baseline" p99_us)" \
    -v hf="$(json_value "$host_scan" files_per_second)" -v gf="$(json_value "$guest_scan" files_per_second)" \
    -v cf="$(json_value "$guest_cpu" files_per_second)" 'BEGIN {
    printf "packets/s: baseline %.0f, host-only peer %.0f, guest chain %.0f; guest/host = %.2f (goal >= 0.8)\n", b, h, g, g / h
    printf "added latency p50: host-only peer %.0f us, guest chain %.0f us; p99: %.0f us, %.0f us\n", hl - bl, gl - bl, hp - bp, gp - bp
    printf "files/s: host-only scan %.1f, guest scan %.1f; guest/host = %.2f\n", hf, gf, gf / hf
    printf "the guest CPU runs the same scan at %.1f files/s: %.1fx slower than the test host'"'"'s\n", cf, hf / cf
}' | tee "$out/summary.txt"
