#!/usr/bin/env bash
# Installs everything hvkit needs to build, test and demo, from Debian's
# packages (and the npm registry for the independent TUF client used in
# interoperability tests). Idempotent, and quick when everything is present.
set -euo pipefail
cd "$(dirname "$0")/.."

DEBIAN_PACKAGES=(
    build-essential cmake ninja-build pkg-config git
    libssl-dev libarchive-dev libzstd-dev liblzma-dev zstd xz-utils
    libcpprest-dev libboost-dev libsqlite3-dev sqlite3
    libgtest-dev libgmock-dev clang libclang-rt-14-dev clang-format
    curl libpcap-dev
    libnftables-dev nftables libnetfilter-queue-dev libmnl-dev
    qemu-system-x86 busybox-static e2fsprogs cpio kmod
)
# Node.js runs the independent TUF implementation (tuf-js). A machine may
# already have it from elsewhere (with npm bundled); only then skip Debian's.
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    DEBIAN_PACKAGES+=(nodejs npm)
fi

missing=()
for pkg in "${DEBIAN_PACKAGES[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$pkg")
    fi
done
if ((${#missing[@]})); then
    echo "setup: installing ${missing[*]}"
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# The independent TUF implementation (tuf-js) the interoperability tests use.
if [ -f tests/interop/package.json ]; then
    if [ ! -d tests/interop/node_modules ] || [ tests/interop/package-lock.json -nt tests/interop/node_modules ]; then
        echo "setup: installing tuf-js for the interoperability tests"
        (cd tests/interop && npm ci --no-audit --no-fund --loglevel=error)
    fi
fi
# Debian's stock kernel package, unpacked into the image cache: the test host
# and the guest images boot it (scripts/images/, docs/test-host.md).
scripts/images/fetch-kernel.sh >/dev/null
echo "setup: all dependencies present"
