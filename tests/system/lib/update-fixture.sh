# shellcheck shell=bash
# The update scenarios' world (sourced): a publisher's release key, the host's
# release store with that key trusted, signed releases (hvmm-next as the
# hypervisor, a guest extension that says hello) in a TUF repository served
# on a TAP's host address, and a data disk carrying the guest agent's
# configuration, the repository's root, the guest's package trust store and
# every package built (in /data/hvkit/packages, for hvchan-push).
#
#   make_update_fixture DIR        the above with release 0.1.1 only
# or, for more releases:
#   update_fixture_begin DIR       keys, trust stores, repository, 0.1.1
#   update_fixture_release VERSION KEY NAME [HVMM]   one more package, signed
#                                  by KEY, shipping HVMM (default hvmm-next)
#   update_fixture_serve           publish, serve, write the data disk
# They set HVMM, HVPKG, W, STATE, DATA_DISK, TAP, REPO_PID.
#   start_update_vm NAME GUEST_ARGS [HVMM FLAGS...]   a VM on that world
#   run_update_vm NAME GUEST_ARGS [HVMM FLAGS...]     the same, to its end
# UPDATE_FIXTURE_PAD_MIB=N pads the hypervisor's part with N MiB of random
# bytes; UPDATE_FIXTURE_DISK_MIB sizes the data disk (default 128).
#   cleanup_update_fixture         stops the server, removes the TAP and STATE

# shellcheck source=SCRIPTDIR/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

make_update_fixture() {
    update_fixture_begin "$1"
    update_fixture_serve
}

update_fixture_begin() {
    W=$1
    local b=${HVKIT_BUILD_DIR:?}
    HVMM=$b/hypervisor/hvmm
    HVPKG=$b/packages/hvpkg/hvpkg
    HVREPO=$b/packages/hvrepo/hvrepo
    local next=$b/hypervisor/hvmm-next
    for f in "$HVMM" "$HVPKG" "$HVREPO" "$next"; do [ -x "$f" ] || fail "no $f (build the tree first)"; done
    rm -rf "$W" && mkdir -p "$W/src" "$W/data/hvkit/packages"
    # The host's release store lives on a local file system: SQLite's WAL
    # needs shared memory maps, which the results share (9p) does not have.
    STATE=$(mktemp -d "${TMPDIR:-/tmp}/hvkit-host-state.XXXXXX")

    "$HVPKG" keygen --out "$W/release-key.json" >/dev/null
    "$HVPKG" trust --key "$W/release-key.pub.json" --threshold 1 --out "$STATE/trust.json" >/dev/null
    cp "$STATE/trust.json" "$W/data/hvkit/package-trust.json"

    strip -o "$W/src/hvmm" "$next"
    # UPDATE_FIXTURE_PAD_MIB=N adds N MiB of random bytes to the hypervisor's
    # part, so a transfer lasts long enough to be cut short on purpose.
    if [ "${UPDATE_FIXTURE_PAD_MIB:-0}" -gt 0 ]; then
        head -c "$((UPDATE_FIXTURE_PAD_MIB << 20))" /dev/urandom >"$W/src/pad.bin"
    fi
    "$HVREPO" init "$W/repo" >/dev/null
    update_fixture_release 0.1.1 "$W/release-key.json" hvkit-0.1.1.hvpkg
}

# update_fixture_release VERSION KEY NAME [HVMM]: builds release VERSION
# (hvmm-next, or HVMM stripped when given; pad.bin if there is one; a guest
# extension, guest/bin/hello, that says "hello from VERSION"; filter modules
# as guest extensions: filters/redact.so, the build's, and
# filters/update.sigs with the signature release-VERSION, pattern
# "HVKIT-RELEASE-VERSION") signed by KEY as NAME and adds it to the
# repository.
update_fixture_release() {
    local version=$1 key=$2 name=$3 pad="" hvmm=src/hvmm
    if [ -n "${4:-}" ]; then
        [ -x "$4" ] || fail "no $4 (build the tree first)"
        hvmm=src/hvmm-$version
        strip -o "$W/$hvmm" "$4"
    fi
    printf '#!/bin/sh\necho hello from %s\n' "$version" >"$W/src/hello-$version"
    chmod 0755 "$W/src/hello-$version"
    printf 'release-%s: "HVKIT-RELEASE-%s"\n' "$version" "$version" >"$W/src/update-$version.sigs"
    [ -f "$W/src/redact.so" ] || strip -o "$W/src/redact.so" "$HVKIT_BUILD_DIR/filter-modules/redact.so" ||
        fail "no $HVKIT_BUILD_DIR/filter-modules/redact.so (build the tree first)"
    [ ! -f "$W/src/pad.bin" ] ||
        pad=',
  {"component": "hypervisor", "source": "src/pad.bin", "path": "hypervisor/share/pad.bin", "mode": "0644"}'
    cat >"$W/recipe-$version.json" <<JSON
{"name": "hvkit", "version": "$version", "min_installed_version": "0.0.1",
 "files": [
  {"component": "hypervisor", "source": "$hvmm", "path": "hypervisor/bin/hvmm", "mode": "0755"},
  {"component": "guest-extension", "source": "src/hello-$version", "path": "guest/bin/hello", "mode": "0755"},
  {"component": "filter-module", "source": "src/redact.so", "path": "filters/redact.so", "mode": "0644"},
  {"component": "filter-module", "source": "src/update-$version.sigs", "path": "filters/update.sigs", "mode": "0644"}$pad]}
JSON
    "$HVPKG" build "$W/recipe-$version.json" --key "$key" --out "$W/data/hvkit/packages/$name" >/dev/null ||
        fail "hvpkg build of $version failed"
    "$HVREPO" add "$W/repo" "$W/data/hvkit/packages/$name" --name "$name" >/dev/null ||
        fail "hvrepo add $name failed"
}

update_fixture_serve() {
    "$HVREPO" publish "$W/repo" >/dev/null
    cp "$W/repo/metadata/1.root.json" "$W/data/hvkit/root.json"

    TAP=hvtap-upd
    ip link del "$TAP" 2>/dev/null || true
    ip tuntap add dev "$TAP" mode tap || fail "cannot create TAP $TAP"
    ip addr add 10.0.2.1/24 dev "$TAP"
    ip link set "$TAP" up
    "$HVREPO" serve "$W/repo" --bind 10.0.2.1 --port 8080 --quiet >"$W/serve.out" 2>"$W/serve.err" &
    REPO_PID=$!
    for _ in $(seq 100); do
        grep -q '^  targets:' "$W/serve.out" 2>/dev/null && break
        kill -0 "$REPO_PID" 2>/dev/null || fail "hvrepo serve died: $(cat "$W/serve.err")"
        sleep 0.1
    done
    cat >"$W/data/hvkit/agent.json" <<JSON
{"repository": {"metadata_url": "http://10.0.2.1:8080/metadata/",
                "targets_url": "http://10.0.2.1:8080/targets/",
                "root": "/data/hvkit/root.json"},
 "package_trust": "/data/hvkit/package-trust.json",
 "state_dir": "/data/state",
 "extensions_dir": "/data/ext"}
JSON
    DATA_DISK=$W/data.ext4
    mke2fs -q -F -t ext4 -d "$W/data" "$DATA_DISK" "${UPDATE_FIXTURE_DISK_MIB:-128}M" || fail "mke2fs failed"
}

# start_update_vm NAME GUEST_ARGS [HVMM FLAGS...]: starts hvmm in the
# background on this world's data disk and TAP, with hvchan and FLAGS (say
# --allow-hypervisor-update --state-dir "$STATE"), the guest's command line
# ending in GUEST_ARGS (say hvkit.test=hvupdate); UPDATE_VM_CPUS vCPUs
# (default 2). Sets vmm (its pid), serial and vmm_log (NAME's files in
# HVKIT_SCENARIO_DIR).
start_update_vm() {
    local name=$1 guest_args=$2
    shift 2
    serial=$HVKIT_SCENARIO_DIR/serial-$name.log
    vmm_log=$HVKIT_SCENARIO_DIR/hvmm-$name.log
    "$HVMM" run --kernel "$HVKIT_GUEST_KERNEL" --initrd "$HVKIT_GUEST_INITRD" \
        --cmdline "$HVKIT_GUEST_CMDLINE hvkit.poweroff=reboot reboot=k hvkit.ip=10.0.2.15/24 $guest_args" \
        --mem 512M --cpus "${UPDATE_VM_CPUS:-2}" --disk "$DATA_DISK" --net "tap=$TAP" --hvchan "$@" \
        --serial-log "$serial" --serial-input none >"$vmm_log" 2>&1 &
    vmm=$!
}

# run_update_vm NAME GUEST_ARGS [HVMM FLAGS...]: start_update_vm, then waits
# for the guest's end; fails unless hvmm exits 0. The serial log without
# carriage returns is then in $serial.txt.
run_update_vm() {
    start_update_vm "$@"
    wait_for_guest "$vmm"
    [ "$status" = 0 ] || fail "hvmm ($1) exited with status $status: $(cat "$vmm_log")"
    tr -d '\r' <"$serial" >"$serial.txt"
}

cleanup_update_fixture() {
    [ -z "${REPO_PID:-}" ] || kill "$REPO_PID" 2>/dev/null || true
    [ -z "${TAP:-}" ] || ip link del "$TAP" 2>/dev/null || true
    [ -z "${STATE:-}" ] || rm -rf "$STATE"
}
