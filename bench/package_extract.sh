#!/usr/bin/env bash
# Benchmark: hvpkg extract (signature check, streaming SHA-256 of every file,
# safe extraction into a staging directory, fsync, rename) of a 256 MiB package
# against the floor of doing less with standard tools on the same content:
#   floor:      zstd -dc floor.tar.zst | tar -x   then   sha256sum -c
#   floor+sync: the same, plus `sync -f` on the output before hashing
#   (and for reference, untar only: zstd -dc | tar -x, no hashes at all)
# Both archives use zstd level 3 (hvpkg's and zstd's default). Runs are
# interleaved; the median of REPS runs is reported.
#
# usage: bench/package_extract.sh [BUILD_DIR] [TOTAL_MIB] [REPS]
#   BUILD_DIR  defaults to build/pkg (needs targets hvpkg and bench_make_content)
#   work files go under ${TMPDIR:-/tmp} (same filesystem for all runs) and are removed
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${1:-build/pkg}
TOTAL_MIB=${2:-256}
REPS=${3:-5}
HVPKG=$BUILD_DIR/packages/hvpkg/hvpkg
MAKE_CONTENT=$BUILD_DIR/bench/bench_make_content
for tool in "$HVPKG" "$MAKE_CONTENT"; do
    [ -x "$tool" ] || { echo "missing $tool: cmake --build $BUILD_DIR --target hvpkg bench_make_content" >&2; exit 2; }
done
for tool in zstd tar sha256sum; do
    command -v $tool >/dev/null || { echo "missing $tool" >&2; exit 2; }
done

WORK=$(mktemp -d "${TMPDIR:-/tmp}/hvkit-bench-XXXXXX")
trap 'rm -rf "$WORK"' EXIT

"$MAKE_CONTENT" "$WORK/content" "$WORK/recipe.json" "$TOTAL_MIB"
"$HVPKG" keygen --out "$WORK/key.json" >/dev/null
"$HVPKG" trust --key "$WORK/key.pub.json" --out "$WORK/trust.json" >/dev/null
"$HVPKG" build "$WORK/recipe.json" --key "$WORK/key.json" --out "$WORK/pkg.hvpkg" >/dev/null
(cd "$WORK/content" && find . -type f | LC_ALL=C sort | xargs sha256sum > "$WORK/SHA256SUMS")
tar -C "$WORK/content" -cf - . | zstd -q -3 -T1 -o "$WORK/floor.tar.zst"
rm -rf "$WORK/content"   # extraction reads only the archives
printf 'package: %s bytes (hvpkg), %s bytes (tar.zst)\n' \
    "$(stat -c %s "$WORK/pkg.hvpkg")" "$(stat -c %s "$WORK/floor.tar.zst")"

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.3f", b - a}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }

run_hvpkg() {
    local t0 t1
    t0=$(now)
    "$HVPKG" extract "$WORK/pkg.hvpkg" --trust "$WORK/trust.json" --dest "$WORK/out-hvpkg" >/dev/null
    t1=$(now)
    rm -rf "$WORK/out-hvpkg"
    elapsed "$t0" "$t1"
}

run_floor() {  # $1: 0 floor, 1 floor+sync, u untar only
    local t0 t1
    mkdir "$WORK/out-floor"
    t0=$(now)
    zstd -q -dc "$WORK/floor.tar.zst" | tar -xf - -C "$WORK/out-floor"
    if [ "$1" = 1 ]; then sync -f "$WORK/out-floor"; fi
    if [ "$1" != u ]; then (cd "$WORK/out-floor" && sha256sum -c --quiet "$WORK/SHA256SUMS"); fi
    t1=$(now)
    rm -rf "$WORK/out-floor"
    elapsed "$t0" "$t1"
}

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

# One warm-up of each, so every measured run starts with the archive cached.
sync
run_hvpkg >/dev/null; run_floor 0 >/dev/null
H=(); F=(); S=(); U=()
for ((i = 1; i <= REPS; i++)); do
    sync
    H+=("$(run_hvpkg)"); sync
    F+=("$(run_floor 0)"); sync
    S+=("$(run_floor 1)"); sync
    U+=("$(run_floor u)")
    printf 'run %d: hvpkg %.3fs  floor %.3fs  floor+sync %.3fs  untar only %.3fs\n' \
        "$i" "${H[-1]}" "${F[-1]}" "${S[-1]}" "${U[-1]}"
done
mh=$(printf '%s\n' "${H[@]}" | median)
mf=$(printf '%s\n' "${F[@]}" | median)
ms=$(printf '%s\n' "${S[@]}" | median)
mu=$(printf '%s\n' "${U[@]}" | median)
printf '\nmedian of %d (%s MiB): hvpkg extract %.3fs | floor %.3fs | floor+sync %.3fs | untar only %.3fs\n' \
    "$REPS" "$TOTAL_MIB" "$mh" "$mf" "$ms" "$mu"
printf 'ratio hvpkg/floor: %s   hvpkg/floor+sync: %s   hvpkg/untar-only: %s\n' \
    "$(ratio "$mh" "$mf")" "$(ratio "$mh" "$ms")" "$(ratio "$mh" "$mu")"
