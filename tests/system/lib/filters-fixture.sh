# shellcheck shell=bash
# The filter scenarios' world in the test host (sourced, not run): two
# network namespaces joined by a veth (hvf1 10.77.0.1 -> hvf2 10.77.0.2), a
# UDP receiver in hvf2, a watched tmpfs with a clean and two infected files,
# hvfilterd's configuration, and the VM (hvmm --filter-rings) whose guest
# serves the rings with `hvagent filters` (guest-hooks/50-filters).
# Everything it starts is stopped by its EXIT trap. Needs `serial`
# (guest-boot.sh).
# shellcheck source=SCRIPTDIR/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

HVMM=$HVKIT_BUILD_DIR/hypervisor/hvmm
HVFILTERD=$HVKIT_BUILD_DIR/filters/host/hvfilterd
FILTERS_VM=""
FILTERS_DAEMON=""
FILTERS_RECEIVER=""

filters_cleanup() {
    [ -z "$FILTERS_VM" ] || kill -9 "$FILTERS_VM" 2>/dev/null || true
    [ -z "$FILTERS_DAEMON" ] || kill -9 "$FILTERS_DAEMON" 2>/dev/null || true
    [ -z "$FILTERS_RECEIVER" ] || kill "$FILTERS_RECEIVER" 2>/dev/null || true
    wait 2>/dev/null || true
    umount "$FILTERS_WATCHED" 2>/dev/null || true
    ip netns del hvf1 2>/dev/null || true
    ip netns del hvf2 2>/dev/null || true
    rm -rf "$FILTERS_WORK"
}

# The sources' chains (JSON arrays as in hvfilterd.json); callers may set
# them before start_filters_fixture.
if [ -z "${FILTERS_UDP_CHAIN:-}" ]; then
    FILTERS_UDP_CHAIN='[{"module": "pcap_rule", "params": {"filter": "udp dst port 9999", "action": "drop"}},
             {"module": "unruly", "params": {"mode": "crash"}},
             {"module": "redact", "params": {"pattern": "secret", "replacement_byte": "*"}}]'
fi
if [ -z "${FILTERS_FILE_CHAIN:-}" ]; then
    FILTERS_FILE_CHAIN='[{"module": "signature", "params": {"signatures": "test.sigs"}}]'
fi

# start_filters_fixture OUT_DIR DEADLINE_MS: the namespaces, the receiver,
# the watched files and the configuration (both sources fail-closed with
# DEADLINE_MS). Sets FILTERS_WORK, FILTERS_CONFIG, FILTERS_SOCKET,
# FILTERS_STATS, FILTERS_WATCHED, FILTERS_RECEIVED, FILTERS_DEADLINE_MS.
start_filters_fixture() {
    local out=$1
    FILTERS_DEADLINE_MS=$2
    [ -x "$HVMM" ] || fail "no hvmm at $HVMM (build the tree first)"
    [ -x "$HVFILTERD" ] || fail "no hvfilterd at $HVFILTERD (build the tree first)"
    FILTERS_WORK=$(mktemp -d /tmp/hvkit-filters.XXXXXX)
    trap filters_cleanup EXIT
    # The kernel's own module loading runs outside this chroot: load them here.
    modprobe -a nf_tables nfnetlink_queue veth || fail "cannot load nf_tables, nfnetlink_queue, veth"
    modprobe nft_queue 2>/dev/null || modprobe -a nft_compat xt_NFQUEUE ||
        fail "neither nft_queue nor nft_compat with xt_NFQUEUE loads"

    ip netns add hvf1
    ip netns add hvf2
    ip link add hvf1-veth netns hvf1 type veth peer name hvf2-veth netns hvf2
    ip -n hvf1 addr add 10.77.0.1/24 dev hvf1-veth
    ip -n hvf2 addr add 10.77.0.2/24 dev hvf2-veth
    for ns in hvf1 hvf2; do
        ip -n "$ns" link set lo up
        ip -n "$ns" link set "$ns-veth" up
    done

    FILTERS_RECEIVED=$out/received.txt
    : >"$FILTERS_RECEIVED"
    ip netns exec hvf2 python3 -u - "$FILTERS_RECEIVED" 9001 9999 >"$out/receiver.log" 2>&1 <<'PY' &
import selectors, socket, sys
out = open(sys.argv[1], "a")
sel = selectors.DefaultSelector()
for port in sys.argv[2:]:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("10.77.0.2", int(port)))
    sel.register(s, selectors.EVENT_READ, port)
print("listening", flush=True)
while True:
    for key, _ in sel.select():
        data = key.fileobj.recv(65536)
        out.write("%s %s\n" % (key.data, data.decode("latin-1")))
        out.flush()
PY
    FILTERS_RECEIVER=$!
    local i
    for i in $(seq 1 100); do
        grep -q listening "$out/receiver.log" 2>/dev/null && break
        sleep 0.1
    done
    grep -q listening "$out/receiver.log" || fail "the UDP receiver did not start: $(cat "$out/receiver.log")"

    FILTERS_WATCHED=$FILTERS_WORK/watched
    mkdir -p "$FILTERS_WATCHED"
    mount -t tmpfs -o size=8m tmpfs "$FILTERS_WATCHED"
    echo "nothing to see here" >"$FILTERS_WATCHED/clean.txt"
    printf 'header\nHVKIT-TEST-SIGNATURE-7f3a\ntrailer\n' >"$FILTERS_WATCHED/infected.txt"
    printf '\x7f\x45\x4c\x46\x02\x01\x01\x00\x48\x56\x4b\x49 and more' >"$FILTERS_WATCHED/elf-like.bin"

    FILTERS_SOCKET=$FILTERS_WORK/vm.sock
    FILTERS_STATS=$FILTERS_WORK/stats.sock
    FILTERS_CONFIG=$FILTERS_WORK/hvfilterd.json
    local policy="\"deadline_ms\": $FILTERS_DEADLINE_MS, \"on_timeout\": \"fail-closed\", \"on_guest_absent\": \"fail-closed\", \"on_overflow\": \"fail-closed\""
    cat >"$FILTERS_CONFIG" <<JSON
{"vm": {"control_socket": "$FILTERS_SOCKET"},
 "sources": [
  {"name": "udp", "kind": "network",
   "network": {"queue": 7, "rules": ["udp dport 9000-9999"]},
   "chain": $FILTERS_UDP_CHAIN,
   $policy},
  {"name": "files", "kind": "file",
   "file": {"paths": ["$FILTERS_WATCHED"], "events": ["open"]},
   "chain": $FILTERS_FILE_CHAIN,
   $policy}]}
JSON
    "$HVFILTERD" check --config "$FILTERS_CONFIG" >/dev/null || fail "hvfilterd refused the scenario's configuration"
}

# start_filter_vm SERIAL [GUEST_ARGS]: the guest with filter rings and a
# control socket; GUEST_ARGS go on its kernel command line.
start_filter_vm() {
    local cmdline="$HVKIT_GUEST_CMDLINE hvkit.poweroff=reboot reboot=k hvkit.test=filters ${2:-}"
    "$HVMM" run --kernel "$HVKIT_GUEST_KERNEL" --initrd "$HVKIT_GUEST_INITRD" \
        --cmdline "$cmdline" --mem 256M --filter-rings 1M --control "$FILTERS_SOCKET" \
        --serial-log "$1" >"$HVKIT_SCENARIO_DIR/hvmm.log" 2>&1 &
    FILTERS_VM=$!
}

# start_hvfilterd: the daemon in hvf2 (its nft table hooks hvf2's packets).
start_hvfilterd() {
    ip netns exec hvf2 "$HVFILTERD" run --config "$FILTERS_CONFIG" --stats-socket "$FILTERS_STATS" \
        >"$HVKIT_SCENARIO_DIR/hvfilterd.log" 2>&1 &
    FILTERS_DAEMON=$!
}

# wait_until SECONDS WHAT COMMAND...: polls COMMAND every 0.2 s.
wait_until() {
    local seconds=$1 what=$2 started=$SECONDS
    shift 2
    until "$@"; do
        ((SECONDS - started < seconds)) || fail "waited $seconds s for $what; hvfilterd stats: $(filters_stats | tr '\n' ' ')"
        [ -z "$FILTERS_DAEMON" ] || kill -0 "$FILTERS_DAEMON" 2>/dev/null || fail "hvfilterd died: $(tail -n 20 "$HVKIT_SCENARIO_DIR/hvfilterd.log")"
        sleep 0.2
    done
}

filters_stats() {
    "$HVFILTERD" stats --stats-socket "$FILTERS_STATS" 2>/dev/null
}

# stat_value KEY: a dotted key's value from `hvfilterd stats`.
stat_value() {
    filters_stats | awk -v k="$1" '$1 == k { print $2 }'
}

counter_is() { [ "$(stat_value "$1")" = "$2" ]; }

expect_counter() {
    wait_until 30 "$1 to reach $2" counter_is "$1" "$2"
}

guest_status_has() {
    tr -d '\r' <"$serial" | grep '^hvagent-filters-status:' | tail -n 1 | grep -qF "$1"
}

wait_for_guest_attach() {
    wait_until 300 "hvfilterd to attach to the VM" counter_is guest.attached true
    wait_until 300 "the guest runtime to attach" grep -q "hvagent filters: attached to hvfilt" "$serial"
    wait_until 120 "the guest's chain worker" grep -q "hvagent filters: chain worker [0-9]* started" "$serial"
    echo "attached: $(grep -m1 'hvagent filters: attached to' "$serial" | tr -d '\r')"
}

send_udp() {
    ip netns exec hvf1 bash -c 'printf %s "$1" >"/dev/udp/10.77.0.2/$2"' _ "$2" "$1"
}

received_count() {
    local n
    n=$(wc -l <"$FILTERS_RECEIVED")
    [ "$#" = 0 ] && { echo "$n"; return 0; }
    [ "$n" -ge "$1" ]
}

# check_received N LINE: the Nth received datagram is "PORT payload".
check_received() {
    local got
    got=$(sed -n "$1p" "$FILTERS_RECEIVED")
    [ "$got" = "$2" ] || fail "datagram $1 is '$got', not '$2' (all: $(cat "$FILTERS_RECEIVED"))"
}

# kill_vm_mid_stream N: N datagrams and a file open on their way while hvmm
# is SIGKILLed. Each must be answered by policy (fail-closed) within the
# deadline: the open must fail with a denial, not hang.
kill_vm_mid_stream() {
    local n=$1 before
    before=$(received_count)
    (for i in $(seq 1 "$n"); do send_udp 9001 "stream $i"; sleep 0.05; done) &
    local sender=$!
    sleep 0.5
    kill -9 "$FILTERS_VM"
    wait "$FILTERS_VM" 2>/dev/null || true
    FILTERS_VM=""
    echo "hvmm killed with the stream under way"
    wait "$sender"
    local t0=$SECONDS status=0
    timeout 60 cat "$FILTERS_WATCHED/clean.txt" >/dev/null 2>"$FILTERS_WORK/dead.err" || status=$?
    [ "$status" != 124 ] || fail "an open with the guest dead hung for 60 s"
    [ "$status" != 0 ] || fail "an open with the guest dead was allowed (the source is fail-closed)"
    echo "an open with the guest dead was denied after $((SECONDS - t0)) s"
    wait_until $((FILTERS_DEADLINE_MS / 1000 + 30)) "the stream's pending items to be answered" counter_is sources.udp.pending 0
    local after
    after=$(received_count)
    echo "stream: $((after - before)) of $n datagrams arrived before or despite the kill"
}

# Every source: nothing pending, and each submitted item answered once.
check_nothing_pending_and_counters_add_up() {
    local stats source
    stats=$(filters_stats)
    echo "$stats" | grep -E '^sources\.[a-z]+\.(submitted|passed|dropped|changed|timed_out|guest_absent|overflowed|failed_open|failed_closed|pending) ' || true
    for source in udp files; do
        local v submitted=0 answered=0
        submitted=$(echo "$stats" | awk -v k="sources.$source.submitted" '$1 == k { print $2 }')
        for v in passed dropped changed timed_out guest_absent overflowed; do
            answered=$((answered + $(echo "$stats" | awk -v k="sources.$source.$v" '$1 == k { print $2 }')))
        done
        [ "$(echo "$stats" | awk -v k="sources.$source.pending" '$1 == k { print $2 }')" = 0 ] ||
            fail "source $source still has items pending"
        [ "$submitted" = "$answered" ] || fail "source $source: $submitted submitted, $answered answered"
    done
    local by_policy
    by_policy=$(echo "$stats" | awk '$1 == "sources.udp.timed_out" || $1 == "sources.udp.guest_absent" { n += $2 } END { print n + 0 }')
    [ "$by_policy" -gt 1 ] || fail "no stream item was answered by policy after the kill"
}

# restart_filter_vm SERIAL: a new hvmm and guest on the same control socket
# (the old hvmm's exit closed hvfilterd's control connection): hvfilterd
# attaches to it and the guest's runtime serves it.
restart_filter_vm() {
    wait_until 60 "hvfilterd to notice hvmm's exit" grep -q "hvmm closed the control connection" \
        "$HVKIT_SCENARIO_DIR/hvfilterd.log"
    local old_serial=$serial
    serial=$1
    start_filter_vm "$serial"
    wait_for_guest_attach
    serial=$old_serial
}

# stop_hvfilterd: SIGTERM, exit 0 within 30 s, its nft table gone.
stop_hvfilterd() {
    kill -TERM "$FILTERS_DAEMON"
    local status=0 i
    for i in $(seq 1 150); do
        kill -0 "$FILTERS_DAEMON" 2>/dev/null || break
        sleep 0.2
    done
    kill -0 "$FILTERS_DAEMON" 2>/dev/null && fail "hvfilterd did not exit within 30 s of SIGTERM"
    wait "$FILTERS_DAEMON" || status=$?
    FILTERS_DAEMON=""
    [ "$status" = 0 ] || fail "hvfilterd exited with status $status: $(tail -n 20 "$HVKIT_SCENARIO_DIR/hvfilterd.log")"
    if ip netns exec hvf2 nft list table inet hvfilterd >/dev/null 2>&1; then
        fail "hvfilterd's nft table is still there after its exit"
    fi
    echo "hvfilterd stopped; its table is gone"
}
