#!/usr/bin/env bash
# Interop (2): hvkit's TUF client (hvtuf-client, the conformance-suite
# interface) against a repository written by another implementation
# (@tufjs/models, tufjs_repository.mjs), served by a plain static server.
# hvkit must follow the root rotation in it, refresh, and download the target
# with the original bytes.
#
# usage: hvkit_vs_tufjs_repo.sh HVTUF_CLIENT INTEROP_DIR
set -euo pipefail
client=$1
interop=$2
source "$(dirname "$0")/lib.sh"

if [ ! -d "$interop/node_modules/@tufjs/models" ]; then
    fail "@tufjs/models is not installed: run scripts/setup.sh (npm ci in tests/interop)"
fi

name=files/demo-1.0.txt
head -c 200000 /dev/urandom >"$work/payload.bin"
node "$interop/tufjs_repository.mjs" --dir "$work/repo" --target-file "$work/payload.bin" \
    --target-name "$name"

start_server '^serving' node "$interop/static_server.mjs" "$work/repo"
base=$(awk '/^serving/ {print $2}' "$work/server.out")
[ -n "$base" ] || fail "the static server printed no URL"

meta=$work/client
mkdir -p "$meta" "$work/out"
"$client" --metadata-dir "$meta" init "$work/repo/metadata/1.root.json" ||
    fail "hvtuf-client init refused tuf-js's root"
"$client" --metadata-dir "$meta" --metadata-url "${base}metadata/" refresh ||
    fail "hvtuf-client refresh failed against tuf-js's repository"
grep -q '"version": 2' "$meta/root.json" || fail "hvtuf-client did not follow root version 2"
"$client" --metadata-dir "$meta" --metadata-url "${base}metadata/" --target-name "$name" \
    --target-base-url "${base}targets/" --target-dir "$work/out" download ||
    fail "hvtuf-client download failed"
encoded=$(node -e 'process.stdout.write(encodeURIComponent(process.argv[1]))' "$name")
cmp "$work/out/$encoded" "$work/payload.bin" || fail "downloaded bytes differ from the original"

# The same client must refuse the repository once tampered with: a changed
# target byte, then a timestamp whose signed body no longer matches its signature.
stored=$(find "$work/repo/targets" -type f -name '*.demo-1.0.txt')
flip_byte "$stored" 100
rm -rf "$work/out" && mkdir -p "$work/out"
if "$client" --metadata-dir "$meta" --metadata-url "${base}metadata/" --target-name "$name" \
    --target-base-url "${base}targets/" --target-dir "$work/out" download 2>"$work/err"; then
    fail "hvtuf-client accepted a tampered target"
fi
echo "tampered target refused: $(cat "$work/err")"
sed -i 's/"version": 1,/"version": 7,/' "$work/repo/metadata/timestamp.json"
rm -rf "$work/client2" && mkdir -p "$work/client2"
"$client" --metadata-dir "$work/client2" init "$work/repo/metadata/1.root.json"
if "$client" --metadata-dir "$work/client2" --metadata-url "${base}metadata/" refresh 2>"$work/err"; then
    fail "hvtuf-client accepted a timestamp with a broken signature"
fi
echo "tampered timestamp refused: $(cat "$work/err")"
echo "PASS: hvkit's client verified tuf-js's repository (root rotation, consistent snapshot) and downloaded $name"
