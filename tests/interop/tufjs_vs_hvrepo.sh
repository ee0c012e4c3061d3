#!/usr/bin/env bash
# Interop (1): tuf-js's client against a repository made and served by hvrepo.
# A repository is created, a target published and served with `hvrepo serve`;
# tuf-js refreshes from 1.root.json and downloads the target, whose bytes must
# equal the original. Then every role's keys are rotated (root first, then
# timestamp, snapshot and targets), a second target is published, and tuf-js
# refreshes again, from its cached trust and from scratch.
#
# usage: tufjs_vs_hvrepo.sh HVREPO INTEROP_DIR
set -euo pipefail
hvrepo=$1
interop=$2
source "$(dirname "$0")/lib.sh"

if [ ! -d "$interop/node_modules/tuf-js" ]; then
    fail "tuf-js is not installed: run scripts/setup.sh (npm ci in tests/interop)"
fi

repo=$work/repo
"$hvrepo" init "$repo" >/dev/null
head -c 300000 /dev/urandom >"$work/hvmm.bin"
"$hvrepo" add "$repo" "$work/hvmm.bin" --name hypervisor/hvmm-1.0.bin \
    --custom '{"component":"hypervisor"}' >/dev/null
"$hvrepo" publish "$repo" >/dev/null

start_hvrepo_serve "$hvrepo" "$repo"
echo "hvrepo serves metadata at $metadata_url, targets at $targets_url"
# The repository's private keys sit beside metadata/ and targets/: never served.
key_file=$(find "$repo/keys" -name '*.json' | head -n 1)
key_url="${metadata_url%/metadata/}/${key_file#"$repo"/}"
code=$(curl -s -o /dev/null -w '%{http_code}' "$key_url")
[ "$code" = 404 ] || fail "hvrepo serve answered $code for a private key ($key_url)"

# tufjs CACHE OUT TARGET...: runs tuf-js, prints its output.
tufjs() {
    local cache=$1 out=$2
    shift 2
    local targets=()
    for t in "$@"; do targets+=(--target "$t"); done
    node "$interop/tufjs_client.mjs" --metadata-url "$metadata_url" --targets-url "$targets_url" \
        --cache "$cache" --root "$repo/metadata/1.root.json" --out "$out" "${targets[@]}"
}
# expect_sha OUTPUT NAME FILE: tuf-js's digest of NAME equals FILE's.
expect_sha() {
    local want got
    want=$(sha256sum "$3" | cut -d' ' -f1)
    got=$(awk -v n="$2" '$2 == n {print $1}' <<<"$1")
    [ "$got" = "$want" ] || fail "tuf-js downloaded $2 with sha256 '$got', expected $want"
}

out=$(tufjs "$work/cache" "$work/out1" hypervisor/hvmm-1.0.bin) || fail "tuf-js refresh/download failed"
echo "$out"
expect_sha "$out" hypervisor/hvmm-1.0.bin "$work/hvmm.bin"
cmp "$work/out1/hypervisor_hvmm-1.0.bin" "$work/hvmm.bin" || fail "downloaded bytes differ"
grep -q 'trusted root version 1' <<<"$out" || fail "expected root version 1"

for role in root timestamp snapshot targets; do
    "$hvrepo" rotate-key "$repo" --role "$role" >/dev/null
done
# And a threshold change: root v6 needs 2 of 2 root keys.
"$hvrepo" rotate-key "$repo" --role root --add --threshold 2 >/dev/null
head -c 5000 /dev/urandom >"$work/agent.bin"
"$hvrepo" add "$repo" "$work/agent.bin" --name guest/agent.bin >/dev/null
"$hvrepo" publish "$repo" >/dev/null
echo "rotated root, timestamp, snapshot and targets keys, root threshold 2; published guest/agent.bin"

out=$(tufjs "$work/cache" "$work/out2" guest/agent.bin hypervisor/hvmm-1.0.bin) ||
    fail "tuf-js refresh after key rotation failed (cached trust)"
echo "$out"
expect_sha "$out" guest/agent.bin "$work/agent.bin"
expect_sha "$out" hypervisor/hvmm-1.0.bin "$work/hvmm.bin"
grep -q 'trusted root version 6' <<<"$out" || fail "expected tuf-js to trust root version 6"

out=$(tufjs "$work/fresh" "$work/out3" guest/agent.bin) || fail "tuf-js refresh from 1.root.json failed"
expect_sha "$out" guest/agent.bin "$work/agent.bin"

# tuf-js must refuse a target whose stored bytes were changed.
stored=$(find "$repo/targets/guest" -type f -name '*.agent.bin')
flip_byte "$stored" 10
if err=$(tufjs "$work/cache" "$work/out4" guest/agent.bin 2>&1); then
    fail "tuf-js accepted a tampered target"
fi
echo "tampered target refused: $err"
echo "PASS: tuf-js verified hvrepo's repository before and after key rotation"
