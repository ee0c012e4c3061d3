#!/usr/bin/env bash
# Gets Debian's stock kernel package through apt and unpacks it into the
# image cache; prints the unpacked tree's path. Idempotent: a tree already
# unpacked is reused without asking apt anything.
#
#   scripts/images/fetch-kernel.sh            # the package linux-image-amd64 depends on
#   HVKIT_KERNEL_PACKAGE=linux-image-6.1.0-56-amd64 scripts/images/fetch-kernel.sh
#
# The tree (HVKIT_IMAGE_CACHE/<package>_<version>/) holds boot/vmlinuz-*,
# lib/modules/<release>/ with a modules.dep made by depmod (the package ships
# none; the test host uses it for modprobe inside its chroot), and
# hvkit-kernel.env naming KERNEL_RELEASE, KERNEL_IMAGE and KERNEL_MODULES.
# HVKIT_IMAGE_CACHE/current points at the tree last fetched.
set -euo pipefail
. "$(dirname "$0")/common.sh"

mkdir -p "$HVKIT_IMAGE_CACHE"
current=$HVKIT_IMAGE_CACHE/current

if [ -z "${HVKIT_KERNEL_PACKAGE:-}" ] && [ -f "$current/hvkit-kernel.env" ]; then
    readlink -f "$current"
    exit 0
fi

package=${HVKIT_KERNEL_PACKAGE:-}
if [ -z "$package" ]; then
    # The meta-package names the current ABI's image package.
    package=$(apt-cache depends linux-image-amd64 2>/dev/null |
        sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*-amd64\)$/\1/p' | head -n1)
    if [ -z "$package" ]; then
        log "apt knows no linux-image-amd64 yet; running apt-get update"
        apt-get update -qq
        package=$(apt-cache depends linux-image-amd64 |
            sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*-amd64\)$/\1/p' | head -n1)
    fi
    [ -n "$package" ] || die "cannot find the kernel package linux-image-amd64 depends on (apt-cache depends linux-image-amd64)"
fi
version=$(apt-cache show --no-all-versions "$package" 2>/dev/null | sed -n 's/^Version: //p' | head -n1)
[ -n "$version" ] || die "apt knows no package '$package' (run apt-get update, or set HVKIT_KERNEL_PACKAGE to one apt-cache search linux-image lists)"

tree=$HVKIT_IMAGE_CACHE/${package}_$version
if [ ! -f "$tree/hvkit-kernel.env" ]; then
    work=$(mktemp -d "$HVKIT_IMAGE_CACHE/.fetch.XXXXXX")
    trap 'rm -rf "$work"' EXIT
    log "downloading $package $version with apt-get download"
    # apt's download sandbox user cannot write into root-owned temp dirs;
    # let it (the directory is removed afterwards anyway).
    chmod 0777 "$work"
    (cd "$work" && apt-get download -q "$package=$version" >&2)
    deb=$(echo "$work"/*.deb)
    [ -f "$deb" ] || die "apt-get download left no .deb in $work"
    log "unpacking $(basename "$deb")"
    dpkg-deb -x "$deb" "$work/tree"
    release=$(cd "$work/tree/lib/modules" && echo *)
    [ -d "$work/tree/lib/modules/$release/kernel" ] || die "unexpected package layout: no lib/modules/<release>/kernel"
    [ -f "$work/tree/boot/vmlinuz-$release" ] || die "unexpected package layout: no boot/vmlinuz-$release"
    # modules.dep for modprobe inside the test host (the initramfs builders
    # resolve their few modules themselves with modinfo).
    depmod -b "$work/tree" "$release"
    cat >"$work/tree/hvkit-kernel.env" <<ENV
KERNEL_PACKAGE=$package
KERNEL_VERSION=$version
KERNEL_RELEASE=$release
KERNEL_IMAGE=$tree/boot/vmlinuz-$release
KERNEL_MODULES=$tree/lib/modules/$release
ENV
    rm -rf "$tree"
    mv "$work/tree" "$tree"
fi
ln -sfn "$(basename "$tree")" "$current.tmp"
mv -T "$current.tmp" "$current"
echo "$tree"
