#!/usr/bin/env bash
# hvkit's client (hvtuf-client) over real HTTP against a hostile mirror of a
# repository made by hvrepo: the mirror serves more bytes than the metadata
# declares (endless data, for a target and for timestamp.json), a tampered
# target, and a replayed old timestamp. Each must fail with its rule named,
# and the client's trusted metadata must be unchanged afterwards.
#
# usage: hvkit_client_attacks.sh HVREPO HVTUF_CLIENT
set -euo pipefail
hvrepo=$1
client=$2
source "$(dirname "$0")/lib.sh"

repo=$work/repo
"$hvrepo" init "$repo" >/dev/null
head -c 200000 /dev/urandom >"$work/pkg.bin"
"$hvrepo" add "$repo" "$work/pkg.bin" --name hv/pkg.bin >/dev/null
"$hvrepo" publish "$repo" >/dev/null
start_hvrepo_serve "$hvrepo" "$repo"

meta=$work/client/metadata
"$client" --metadata-dir "$meta" init "$repo/metadata/1.root.json"
download() {
    "$client" --metadata-dir "$meta" --metadata-url "$metadata_url" --target-name hv/pkg.bin \
        --target-base-url "$targets_url" --target-dir "$work/out-$1" download 2>"$work/err-$1"
}
# expect_refusal NAME FRAGMENT: the download NAME failed with FRAGMENT on stderr.
expect_refusal() {
    if download "$1"; then fail "$1: the client accepted it"; fi
    grep -qF "$2" "$work/err-$1" || fail "$1: expected '$2', got: $(cat "$work/err-$1")"
    [ ! -e "$work/out-$1/hv%2Fpkg.bin" ] || fail "$1: a file was left in the target directory"
    echo "refused $1: $(cat "$work/err-$1")"
}

download genuine || fail "genuine download failed: $(cat "$work/err-genuine")"
cmp -s "$work/pkg.bin" "$work/out-genuine/hv%2Fpkg.bin" || fail "downloaded bytes differ"
cp "$meta/timestamp.json" "$work/trusted-timestamp.json"

served=$(find "$repo/targets/hv" -name '*.pkg.bin')
cp "$served" "$work/served.bak"

# Endless data: the mirror serves the target with a megabyte appended.
head -c 1048576 /dev/urandom >>"$served"
expect_refusal endless-target "more than the limit of 200000"
cp "$work/served.bak" "$served"

# Arbitrary package: same length, other bytes.
head -c 200000 /dev/urandom >"$served"
expect_refusal arbitrary-target "sha256 hash does not match the targets metadata"
cp "$work/served.bak" "$served"

# Endless metadata: timestamp.json padded past the client's 16 KiB cap.
cp "$repo/metadata/timestamp.json" "$work/timestamp.bak"
head -c 100000 /dev/zero | tr '\0' ' ' >>"$repo/metadata/timestamp.json"
expect_refusal endless-timestamp "more than the limit of 16384"
cp "$work/timestamp.bak" "$repo/metadata/timestamp.json"

# Rollback: after a new release the mirror replays the old timestamp.
"$hvrepo" publish "$repo" >/dev/null
download second || fail "download after a new release failed: $(cat "$work/err-second")"
cp "$work/trusted-timestamp.json" "$repo/metadata/timestamp.json"
expect_refusal replayed-timestamp "is older than the trusted version"
cmp -s "$meta/timestamp.json" "$work/trusted-timestamp.json" &&
    fail "the client's trusted timestamp went back to the replayed one"
echo "PASS: every hostile answer was refused over real HTTP"
