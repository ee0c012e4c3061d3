#!/usr/bin/env bash
# Self-check of the filter benchmarks' host-only tools (run by hand, as
# root; needs nfnetlink_queue). Not a benchmark: it proves the tools count
# right before docs/benchmarks.md gets numbers from them.
#   1. baseline: bench_udp_load between two network namespaces joined by a
#      veth (10.77.0.1/24 <-> 10.77.0.2/24), no rule: every packet arrives;
#   2. the packet peer: bench_filter_peer in netns B on NFQUEUE 5 with rule
#      `ip daddr 10.77.0.2 udp dport 9000` and a pcap_rule chain dropping
#      the load's drop marker; 20000 packets, window 64, every 10th marked:
#      18000 arrive, none lost, the peer drops 2000 and removes its table;
#   3. the scan peer: 200 files of 64 KiB, every 10th holding a signature,
#      through a signature chain: 20 dropped.
# Prints each tool's JSON line, then PASS or the checks that failed (exit 1).
#
# usage: bench/filters-peers-check.sh [BUILD_DIR]
#   BUILD_DIR defaults to build/dev (targets bench_filter_peer bench_udp_load
#   bench_scan_peer bench_make_scan_files; the modules in BUILD_DIR/filter-modules)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${1:-build/dev}
BIN=$BUILD_DIR/bench
MODULES=$(realpath "$BUILD_DIR/filter-modules")
for tool in bench_filter_peer bench_udp_load bench_scan_peer bench_make_scan_files; do
    [ -x "$BIN/$tool" ] || { echo "missing $BIN/$tool: cmake --build $BUILD_DIR --target $tool" >&2; exit 2; }
done
[ "$(id -u)" = 0 ] || { echo "filters-peers-check: needs root (network namespaces, nftables, NFQUEUE)" >&2; exit 2; }

NS_A=hvkit-peers-a-$$
NS_B=hvkit-peers-b-$$
WORK=$(mktemp -d "${TMPDIR:-/tmp}/hvkit-peers-XXXXXX")
PEER_PID=
cleanup() {
    if [ -n "$PEER_PID" ] && kill -0 "$PEER_PID" 2>/dev/null; then
        kill -TERM "$PEER_PID"
        wait "$PEER_PID" || true
    fi
    # Deleting a namespace takes its veth end and its nft tables with it.
    ip netns del "$NS_A" 2>/dev/null || true
    ip netns del "$NS_B" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

ip netns add "$NS_A"
ip netns add "$NS_B"
ip -n "$NS_A" link add va type veth peer name vb netns "$NS_B"
ip -n "$NS_A" addr add 10.77.0.1/24 dev va
ip -n "$NS_B" addr add 10.77.0.2/24 dev vb
for ns in "$NS_A" "$NS_B"; do ip -n "$ns" link set lo up; done
ip -n "$NS_A" link set va up
ip -n "$NS_B" link set vb up

LOAD=("$BIN/bench_udp_load" --from-netns "$NS_A" --to-netns "$NS_B" --to 10.77.0.2:9000
    --packets 20000 --window 64 --payload 64)
FAILED=0
# expect NAME JSON KEY VALUE: KEY of JSON must be VALUE.
expect() {
    local got
    got=$(sed -n "s/.*\"$3\":\([0-9.]*\).*/\1/p" <<<"$2")
    if [ "$got" != "$4" ]; then
        echo "FAIL: $1: $3 is '$got', expected $4" >&2
        FAILED=1
    fi
}

# 1. Baseline: no rule, no peer.
baseline=$("${LOAD[@]}")
echo "baseline:   $baseline"
expect baseline "$baseline" received 20000
expect baseline "$baseline" lost 0
expect baseline "$baseline" unexpected 0

# 2. The packet peer. The marker sits at UDP payload offset 0 (udp_load.cc),
# so pcap can match "HVKIT-DROP" there.
cat >"$WORK/pcap-chain.json" <<'EOF'
[{"module": "pcap_rule",
  "params": {"filter": "udp[8:4] = 0x48564b49 and udp[12:4] = 0x542d4452 and udp[16:2] = 0x4f50",
             "action": "drop"}}]
EOF
ip netns exec "$NS_B" "$BIN/bench_filter_peer" --queue 5 --rule 'ip daddr 10.77.0.2 udp dport 9000' \
    --modules "$MODULES" --chain "$WORK/pcap-chain.json" >"$WORK/peer.json" 2>"$WORK/peer.log" &
PEER_PID=$!
for _ in $(seq 100); do
    grep -q ': ready:' "$WORK/peer.log" && break
    kill -0 "$PEER_PID" 2>/dev/null || break
    sleep 0.1
done
grep -q ': ready:' "$WORK/peer.log" || { echo "bench_filter_peer did not start:" >&2; cat "$WORK/peer.log" >&2; exit 1; }
through=$("${LOAD[@]}" --drop-marker-every 10)
kill -TERM "$PEER_PID"
wait "$PEER_PID" || { echo "bench_filter_peer failed:" >&2; cat "$WORK/peer.log" >&2; exit 1; }
PEER_PID=
peer=$(cat "$WORK/peer.json")
echo "peer load:  $through"
echo "peer:       $peer"
expect "peer load" "$through" received 18000
expect "peer load" "$through" lost 0
expect "peer load" "$through" expected_drops 2000
expect "peer load" "$through" unexpected 0
expect peer "$peer" passed 18000
expect peer "$peer" dropped 2000
expect peer "$peer" errors 0
expect peer "$peer" by_policy 0
if ip netns exec "$NS_B" nft list tables | grep -q hvfilter_peer; then
    echo "FAIL: peer: table inet hvfilter_peer left behind in $NS_B" >&2
    FAILED=1
fi

# 3. The scan peer.
SIGNATURE=HVKIT-SCAN-SIGNATURE-7f3a
printf 'bench: "%s"\n' "$SIGNATURE" >"$WORK/scan.sigs"
printf '[{"module": "signature", "params": {"signatures": "%s"}}]\n' "$WORK/scan.sigs" >"$WORK/scan-chain.json"
"$BIN/bench_make_scan_files" --dir "$WORK/files" --files 200 --size 65536 \
    --signature-every 10 --signature "$SIGNATURE" >/dev/null
scan=$("$BIN/bench_scan_peer" --modules "$MODULES" --chain "$WORK/scan-chain.json" --dir "$WORK/files")
echo "scan:       $scan"
expect scan "$scan" files 200
expect scan "$scan" passed 180
expect scan "$scan" dropped 20
expect scan "$scan" errors 0

if [ "$FAILED" = 0 ]; then echo PASS; else exit 1; fi
