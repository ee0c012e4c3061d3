#!/usr/bin/env bash
# Runs every hvkit test: set-up, a warnings-as-errors build, then ctest
# (labels unit, integration, system, fuzz). Extra arguments go to ctest,
# e.g. `scripts/test.sh -L unit`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
BUILD_DIR=${HVKIT_BUILD_DIR:-build/ci}
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DHVKIT_WERROR=ON -DHVKIT_FUZZ=ON
cmake --build "$BUILD_DIR" -j2
cd "$BUILD_DIR"
ctest --output-on-failure -j2 "$@"
