#!/usr/bin/env bash
# hvkit's main job. Part 1: a publisher creates keys and a TUF repository,
# builds and signs an update package and publishes it; the repository is
# served over HTTP; a client fetches it through the TUF workflow and verifies
# and unpacks the package against its own trust store, and refuses a tampered
# or foreign one. Part 2: the update in a VM: hvmm boots a Debian guest whose
# hvupdate applies a new release of hvmm through hvchan; hvmm verifies and
# commits it, and its next start runs it (in the test host where /dev/kvm
# cannot boot a stock kernel). Everything happens under a scratch directory
# (kept with --keep).
set -euo pipefail
cd "$(dirname "$0")/.."
KEEP=0
[ "${1:-}" = "--keep" ] && KEEP=1

scripts/setup.sh >/dev/null
BUILD_DIR=${HVKIT_BUILD_DIR:-build/demo}
echo "== building hvkit ($BUILD_DIR)"
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$BUILD_DIR" -j2 --target hvpkg hvrepo hvtuf-client >/dev/null
HVPKG=$BUILD_DIR/packages/hvpkg/hvpkg
HVREPO=$BUILD_DIR/packages/hvrepo/hvrepo
CLIENT=$BUILD_DIR/updater/tools/hvtuf-client

WORK=$(mktemp -d /tmp/hvkit-demo.XXXXXX)
SERVER_PID=""
cleanup() {
    [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
    if [ "$KEEP" = 1 ]; then echo "(kept $WORK)"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

step() { printf '\n== %s\n' "$*"; }

step "publisher: package signing key and a trust store for it"
"$HVPKG" keygen --out "$WORK/release-key.json"
"$HVPKG" trust --key "$WORK/release-key.pub.json" --threshold 1 --out "$WORK/trust.json"

step "publisher: build and sign the demo package (packages/recipes/demo.json)"
"$HVPKG" build packages/recipes/demo.json --key "$WORK/release-key.json" --out "$WORK/hvkit-demo.hvpkg"
"$HVPKG" inspect "$WORK/hvkit-demo.hvpkg"

step "publisher: TUF repository (root, targets, snapshot, timestamp keys) with the package"
"$HVREPO" init "$WORK/repo"
"$HVREPO" add "$WORK/repo" "$WORK/hvkit-demo.hvpkg" --name packages/hvkit-demo.hvpkg
"$HVREPO" publish "$WORK/repo"
"$HVREPO" status "$WORK/repo"

step "serving the repository over HTTP"
"$HVREPO" serve "$WORK/repo" --quiet >"$WORK/serve.out" 2>"$WORK/serve.err" &
SERVER_PID=$!
for _ in $(seq 100); do
    grep -q '^  targets:' "$WORK/serve.out" 2>/dev/null && break
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$WORK/serve.err" >&2; exit 1; }
    sleep 0.1
done
cat "$WORK/serve.out"
METADATA_URL=$(awk '/^  metadata:/ {print $2}' "$WORK/serve.out")
TARGETS_URL=$(awk '/^  targets:/ {print $2}' "$WORK/serve.out")

step "client: trust the repository's root, refresh metadata, download the package"
"$CLIENT" --metadata-dir "$WORK/client/metadata" init "$WORK/repo/metadata/1.root.json"
"$CLIENT" --metadata-dir "$WORK/client/metadata" --metadata-url "$METADATA_URL" \
    --target-name packages/hvkit-demo.hvpkg --target-base-url "$TARGETS_URL" \
    --target-dir "$WORK/client/downloads" download
PKG="$WORK/client/downloads/packages%2Fhvkit-demo.hvpkg"
echo "downloaded $(stat -c %s "$PKG") bytes, sha256 $(sha256sum "$PKG" | cut -c1-16)..."

step "client: verify the package signature and every file against the trust store, then unpack"
"$HVPKG" verify "$PKG" --trust "$WORK/trust.json"
"$HVPKG" extract "$PKG" --trust "$WORK/trust.json" --dest "$WORK/client/installed"
find "$WORK/client/installed" -type f | sed "s|$WORK/client/installed/|  installed: |"

step "an attacker tampers with the package on the mirror"
TARGET_FILE=$(find "$WORK/repo/targets" -name '*hvkit-demo.hvpkg')
cp "$TARGET_FILE" "$WORK/original.hvpkg"
OLD_BYTE=$(od -An -tu1 -j 100 -N1 "$TARGET_FILE" | tr -d ' ')
printf "\\$(printf '%03o' $((255 - OLD_BYTE)))" | dd of="$TARGET_FILE" bs=1 seek=100 conv=notrunc status=none
if "$CLIENT" --metadata-dir "$WORK/client/metadata" --metadata-url "$METADATA_URL" \
    --target-name packages/hvkit-demo.hvpkg --target-base-url "$TARGETS_URL" \
    --target-dir "$WORK/client/downloads2" download; then
    echo "demo: FAILED: the tampered package was accepted" >&2
    exit 1
fi
echo "(refused, as it must be)"
cp "$WORK/original.hvpkg" "$TARGET_FILE"

step "a package signed by a key the client does not trust"
"$HVPKG" keygen --out "$WORK/rogue-key.json" >/dev/null
"$HVPKG" build packages/recipes/demo.json --key "$WORK/rogue-key.json" --out "$WORK/rogue.hvpkg" >/dev/null
if "$HVPKG" verify "$WORK/rogue.hvpkg" --trust "$WORK/trust.json"; then
    echo "demo: FAILED: a package signed by an untrusted key was accepted" >&2
    exit 1
fi
echo "(refused, as it must be)"

step "done: the package was published, served, fetched through TUF, verified and unpacked"

# --- part 2: the update in a VM ---------------------------------------------
step "the update in a VM: hvmm boots a Debian guest whose hvupdate applies release 0.1.1 through hvchan"
cat <<'TEXT'
The guest downloads the release through its own network (virtio-net on a TAP),
verifies it, hands the hypervisor's part to hvmm over hvchan; hvmm verifies it
again against the host's own trust store and stages it. The guest's commit
puts 0.1.1 on trial: hvmm 0.1.1 takes the running guest over at once (live
takeover: RAM, disk, network and control socket carry over, the guest never
restarts) and must see it answer over hvchan; only then is 0.1.1 committed
and 0.1.0 exits. The guest reads 0.1.1 over hvchan; a later start runs 0.1.1 too. Where /dev/kvm cannot boot a stock kernel (PVM-backed
KVM), this runs inside the test host, a QEMU VM with nested KVM
(docs/test-host.md): a few minutes.
TEXT
# hvkit_guest_image_inputs: every program and module the guest image carries
# (tests/system/CMakeLists.txt), the update's filter modules among them.
cmake --build "$BUILD_DIR" -j2 --target hvmm hvmm-next hvpkg hvrepo hvkit_guest_image_inputs >/dev/null
echo "building the guest image (Debian's kernel, busybox, the guest tools)"
ctest --test-dir "$BUILD_DIR" -R '^system\.images$' --output-on-failure >/dev/null ||
    { echo "demo: building the guest image failed (ctest --test-dir $BUILD_DIR -R system.images -V)" >&2; exit 1; }
SRC=$PWD
ABS_BUILD=$(cd "$BUILD_DIR" && pwd)
(
    cd "$ABS_BUILD"
    HVKIT_KVM_PROBE=$ABS_BUILD/tests/system/hvkit-kvm-probe \
        HVKIT_GUEST_ENV=$ABS_BUILD/images/guest/guest.env \
        HVKIT_SOURCE_DIR=$SRC HVKIT_BUILD_DIR=$ABS_BUILD \
        "$SRC/tests/system/run-system.sh" "$WORK/vm" 900 "$SRC/tests/system/scenarios/50-hvupdate-apply.sh"
    # run-system.sh boots the test host again when it failed on its own
    # (docs/test-host.md); the scenario's own verdict is in its results.
    [ "$(cat "$WORK/vm/scenarios/50-hvupdate-apply/exit-status" 2>/dev/null)" = 0 ]
) || { echo "demo: the update in a VM failed; logs in $WORK/vm (kept)" >&2; KEEP=1; exit 1; }

grep -E '"took_over"|on trial|^hvupdate-hook: the hypervisor is now|^last trial' "$WORK/vm/scenarios/50-hvupdate-apply/output.log" || true
step "done: hvmm 0.1.0 took an update from its guest, verified it, handed the running guest to 0.1.1 on trial, which passed and was committed, and its next start ran 0.1.1"
