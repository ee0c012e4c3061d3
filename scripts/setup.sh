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
    busybox-static e2fsprogs cpio kmod
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

# QEMU 10 or newer: the test host (docs/test-host.md) livelocks under QEMU
# 7.2's TCG whenever its kernel live-patches a jump label that a CPU runs
# (measured: bookworm's 7.2 froze after 16-31 KVM VM starts under load, 10.0
# never in 1,200). On bookworm it comes from bookworm-backports.
qemu_ok() {
    local v
    v=$(dpkg-query -W -f='${Version}' qemu-system-x86 2>/dev/null) || return 1
    dpkg --compare-versions "$v" ge 1:10.0
}
if ! qemu_ok; then
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    export DEBIAN_FRONTEND=noninteractive
    release=()
    if grep -q '^VERSION_CODENAME=bookworm$' /etc/os-release; then
        if ! grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d; then
            echo "setup: adding bookworm-backports to apt's sources (for QEMU 10)"
            printf '%s\n' "Types: deb" "URIs: http://deb.debian.org/debian" \
                "Suites: bookworm-backports" "Components: main" \
                "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg" |
                $SUDO tee /etc/apt/sources.list.d/bookworm-backports.sources >/dev/null
        fi
        release=(-t bookworm-backports)
    fi
    echo "setup: installing qemu-system-x86 10 ${release[*]}"
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq --no-install-recommends "${release[@]}" qemu-system-x86
    qemu_ok || { echo "setup: qemu-system-x86 is still older than 10.0" >&2; exit 1; }
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
