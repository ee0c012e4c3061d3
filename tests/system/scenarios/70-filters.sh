#!/usr/bin/env bash
# hvkit-timeout: 420
# Leveraged guest filters end to end in the test host: hvmm runs a guest
# with --filter-rings; the guest serves them with `hvagent filters`
# (guest-hooks/50-filters); hvfilterd, in network namespace hvf2, attaches
# through hvmm's control socket and intercepts
#   - UDP from namespace hvf1 to hvf2 ports 9000-9999 (NFQUEUE): the guest's
#     chain pcap_rule (drop port 9999), unruly (abort on HVKIT-CRASH),
#     redact ("secret" -> "******"); fail-closed;
#   - opens under a watched directory (fanotify): the guest's signature
#     module with tests/system/filters/test.sigs; fail-closed.
# Checked: matching packets dropped, others pass, a rewritten payload
# arrives rewritten; a file with a test signature cannot be opened, others
# can; a module crash costs only its item (policy) and the worker comes
# back; a live takeover of the VM that hvfilterd does not notice (no detach,
# nothing by policy); hvmm killed mid-stream: every pending item answered by policy
# within its deadline, no host process hangs, the counters add up; a new
# hvmm on the same control socket is attached to and filters again; a
# malformed configuration refused with file, line and key; hvfilterd's
# table gone after SIGTERM.
set -euo pipefail
source "$(dirname "$0")/../lib/guest-boot.sh"
source "$(dirname "$0")/../lib/filters-fixture.sh"
require_set HVKIT_GUEST_KERNEL HVKIT_GUEST_INITRD HVKIT_GUEST_CMDLINE HVKIT_BUILD_DIR
[ "$(id -u)" = 0 ] || { echo "SKIP: network namespaces and fanotify need root"; exit 77; }

serial=$HVKIT_SCENARIO_DIR/hvmm-serial.log
start_filters_fixture "$HVKIT_SCENARIO_DIR" 5000

# --- A malformed configuration is refused, naming the file, line and key.
bad=$FILTERS_WORK/bad.json
sed 's/"deadline_ms": 5000/"deadline_ms": 0/' "$FILTERS_CONFIG" >"$bad"
if "$HVFILTERD" check --config "$bad" >"$FILTERS_WORK/bad.out" 2>&1; then
    fail "hvfilterd accepted a configuration with deadline_ms 0"
fi
grep -qE "$bad:[0-9]+: sources\[0\]\.deadline_ms: 0 is out of range" "$FILTERS_WORK/bad.out" ||
    fail "the malformed configuration's message does not name file, line and key: $(cat "$FILTERS_WORK/bad.out")"
echo "malformed config refused: $(head -n 1 "$FILTERS_WORK/bad.out")"

start_filter_vm "$serial"
start_hvfilterd
wait_for_guest_attach

# --- Packets: dropped by rule, passed, rewritten.
send_udp 9999 "to the dropped port"
send_udp 9001 "hello"
send_udp 9001 "my secret value"
wait_until 60 "the passed and rewritten packets to arrive" received_count 2
sleep 1
check_received 1 "9001 hello"
check_received 2 "9001 my ****** value"
[ "$(received_count)" = 2 ] || fail "the packet to port 9999 arrived: $(cat "$FILTERS_RECEIVED")"
expect_counter sources.udp.dropped 1
expect_counter sources.udp.changed 1
expect_counter sources.udp.passed 1
echo "packets: dropped, passed and rewritten by the guest's chain"

# --- Files: a test signature is denied, other files open.
cat "$FILTERS_WATCHED/clean.txt" >/dev/null || fail "opening a clean watched file was refused"
if cat "$FILTERS_WATCHED/infected.txt" >/dev/null 2>"$FILTERS_WORK/cat.err"; then
    fail "a file with a test signature opened"
fi
grep -q "Operation not permitted" "$FILTERS_WORK/cat.err" ||
    fail "the infected file failed to open, but not by a denial: $(cat "$FILTERS_WORK/cat.err")"
cat "$FILTERS_WATCHED/elf-like.bin" >/dev/null 2>&1 && fail "a file with the hex signature opened"
expect_counter sources.files.dropped 2
echo "files: the signatures were denied, the clean file opened"

# --- A module crash: its item goes by policy, the worker comes back.
send_udp 9001 "HVKIT-CRASH now"
wait_until 60 "the crashed item's timeout" counter_is sources.udp.timed_out 1
wait_until 60 "the guest's new chain worker" guest_status_has '"worker_starts":2'
send_udp 9001 "after the crash"
wait_until 60 "a packet after the crash" received_count 3
check_received 3 "9001 after the crash"
grep -q "chain worker [0-9]* killed by signal 6" "$serial" ||
    fail "the guest did not report its crashed worker"
echo "module crash: the item went by policy, a new worker answers"

# --- A live takeover (docs/live-takeover.md): hvfilterd stays attached to
# the same region and notices nothing: no detach, no item by policy, and
# every datagram sent across it passes through the guest, now run by the
# successor hvmm.
attaches=$(stat_value guest.attaches)
detaches=$(stat_value guest.detaches)
timed_out=$(stat_value sources.udp.timed_out)
absent=$(stat_value sources.udp.guest_absent)
before=$(received_count)
(for i in $(seq 1 40); do send_udp 9001 "across $i"; sleep 0.05; done) &
sender=$!
sleep 0.5
takeover_out=$("$HVMM" control "$FILTERS_SOCKET" takeover) || fail "the takeover failed: $takeover_out"
wait "$sender"
first_status=0
wait "$FILTERS_VM" || first_status=$?
[ "$first_status" = 5 ] || fail "the first hvmm exited $first_status after the takeover, not 5"
FILTERS_VM=$(sed -n 's/.*"pid":\([0-9]*\).*/\1/p' <<<"$takeover_out")
wait_until 60 "the datagrams sent across the takeover" received_count $((before + 40))
for key in guest.attaches guest.detaches sources.udp.timed_out sources.udp.guest_absent; do
    case $key in
        guest.attaches) want=$attaches ;;
        guest.detaches) want=$detaches ;;
        sources.udp.timed_out) want=$timed_out ;;
        *) want=$absent ;;
    esac
    [ "$(stat_value "$key")" = "$want" ] ||
        fail "hvfilterd noticed the takeover: $key went from $want to $(stat_value "$key")"
done
echo "takeover: $(sed -n 's/.*"blackout_us":\([0-9]*\).*/blackout \1 us/p' <<<"$takeover_out"); 40 datagrams across it passed, hvfilterd stayed attached"

# --- hvmm killed mid-stream: every pending item answered by policy.
kill_vm_mid_stream 40
check_nothing_pending_and_counters_add_up

# --- A new hvmm on the same control socket: hvfilterd attaches to it.
restart_filter_vm "$HVKIT_SCENARIO_DIR/hvmm-serial-2.log"
before=$(received_count)
send_udp 9001 "a secret for the next vm"
wait_until 60 "a packet through the next VM's guest" received_count $((before + 1))
check_received $((before + 1)) "9001 a ****** for the next vm"
echo "the next hvmm: hvfilterd attached to it, its guest filters again"
stop_hvfilterd
echo "PASS"
