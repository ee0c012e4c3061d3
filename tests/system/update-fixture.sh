# The update scenarios' world (sourced): a publisher's release key, the host's
# release store with that key trusted, a signed release 0.1.1 (hvmm-next as
# the hypervisor, a guest extension that says hello), a TUF repository with it
# served on a TAP's host address, and a data disk carrying the guest agent's
# configuration, the repository's root and the guest's package trust store.
#
#   make_update_fixture DIR   sets HVMM, W, STATE, DATA_DISK, TAP, REPO_PID
#   cleanup_update_fixture    stops the server, removes the TAP

make_update_fixture() {
    W=$1
    local b=${HVKIT_BUILD_DIR:?}
    HVMM=$b/hypervisor/hvmm
    local hvpkg=$b/packages/hvpkg/hvpkg hvrepo=$b/packages/hvrepo/hvrepo next=$b/hypervisor/hvmm-next
    for f in "$HVMM" "$hvpkg" "$hvrepo" "$next"; do [ -x "$f" ] || fail "no $f (build the tree first)"; done
    rm -rf "$W" && mkdir -p "$W/src" "$W/data/hvkit"
    # The host's release store lives on a local file system: SQLite's WAL
    # needs shared memory maps, which the results share (9p) does not have.
    STATE=$(mktemp -d "${TMPDIR:-/tmp}/hvkit-host-state.XXXXXX")

    "$hvpkg" keygen --out "$W/release-key.json" >/dev/null
    "$hvpkg" trust --key "$W/release-key.pub.json" --threshold 1 --out "$STATE/trust.json" >/dev/null
    cp "$STATE/trust.json" "$W/data/hvkit/package-trust.json"

    strip -o "$W/src/hvmm" "$next"
    printf '#!/bin/sh\necho hello from 0.1.1\n' >"$W/src/hello"
    chmod 0755 "$W/src/hello"
    cat >"$W/recipe.json" <<JSON
{"name": "hvkit", "version": "0.1.1", "min_installed_version": "0.1.0",
 "files": [
  {"component": "hypervisor", "source": "src/hvmm", "path": "hypervisor/bin/hvmm", "mode": "0755"},
  {"component": "guest-extension", "source": "src/hello", "path": "guest/bin/hello", "mode": "0755"}]}
JSON
    "$hvpkg" build "$W/recipe.json" --key "$W/release-key.json" --out "$W/hvkit-0.1.1.hvpkg" >/dev/null
    "$hvrepo" init "$W/repo" >/dev/null
    "$hvrepo" add "$W/repo" "$W/hvkit-0.1.1.hvpkg" --name hvkit-0.1.1.hvpkg >/dev/null
    "$hvrepo" publish "$W/repo" >/dev/null
    cp "$W/repo/metadata/1.root.json" "$W/data/hvkit/root.json"

    TAP=hvtap-upd
    ip link del "$TAP" 2>/dev/null || true
    ip tuntap add dev "$TAP" mode tap || fail "cannot create TAP $TAP"
    ip addr add 10.0.2.1/24 dev "$TAP"
    ip link set "$TAP" up
    "$hvrepo" serve "$W/repo" --bind 10.0.2.1 --port 8080 --quiet >"$W/serve.out" 2>"$W/serve.err" &
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
    mke2fs -q -F -t ext4 -d "$W/data" "$DATA_DISK" 64M || fail "mke2fs failed"
}

cleanup_update_fixture() {
    [ -z "${REPO_PID:-}" ] || kill "$REPO_PID" 2>/dev/null || true
    [ -z "${TAP:-}" ] || ip link del "$TAP" 2>/dev/null || true
    [ -z "${STATE:-}" ] || rm -rf "$STATE"
}
