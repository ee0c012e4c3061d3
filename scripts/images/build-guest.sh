#!/usr/bin/env bash
# Builds the guest image hvmm (and QEMU, in the system tests) boots: Debian's
# stock kernel, an initramfs with busybox-static, the guest's modules and
# guest-init.sh as /init, and a small ext4 data disk. Prints the path of the
# env file naming them:
#
#   OUT/guest.env   HVKIT_GUEST_KERNEL, HVKIT_GUEST_INITRD, HVKIT_GUEST_DISK,
#                   HVKIT_GUEST_CMDLINE (a command line that works with them;
#                   "quiet" matters: in the test host every console byte
#                   costs nested exits, and a full boot log takes ~25 s)
#
#   scripts/images/build-guest.sh [--out DIR] [--binary FILE]... [--hook FILE]...
#                                 [--list FILE] [--data-dir DIR] [--data-size SIZE]
#
#   --out DIR        where to write (default HVKIT_IMAGE_DIR/guest)
#   --binary FILE    copy an executable to /hvkit/bin/ (on the hooks' PATH),
#                    with the shared libraries ldd names at their own paths
#   --hook FILE      install as /hvkit/guest-init.d/<name> (run in name order)
#   --list FILE      more of both, one a line: "binary PATH" or "hook PATH";
#                    also "filter-module PATH" (a filter module .so, with its
#                    libraries) and "filter-file PATH" (a rule file), both
#                    installed in /hvkit/lib/filters/ (blank lines and #
#                    comments allowed)
#   --data-dir DIR   the data disk's contents (default: one marker file,
#                    hvkit-data-disk); --data-size its size (default 16M)
#
# HVKIT_GUEST_EXTRA_MODULES adds modules. Reproducible: the same inputs give
# the same bytes (fixed mtimes, sorted cpio, fixed file system UUID and time).
set -euo pipefail
umask 022
. "$(dirname "$0")/common.sh"

MODULES=(
    virtio_pci virtio_blk virtio_net
    ext4 crc32c_generic
    uio uio_pci_generic
)
# shellcheck disable=SC2206
MODULES+=(${HVKIT_GUEST_EXTRA_MODULES:-})

out=$HVKIT_IMAGE_DIR/guest
binaries=()
hooks=()
filter_files=()
data_dir=""
data_size=16M
add_list() {
    local kind path
    [ -f "$1" ] || die "--list $1: no such file"
    while read -r kind path; do
        case $kind in
            "" | "#"*) ;;
            binary) binaries+=("$path") ;;
            hook) hooks+=("$path") ;;
            filter-module | filter-file) filter_files+=("$kind:$path") ;;
            *) die "--list $1: '$kind' is not 'binary', 'hook', 'filter-module' or 'filter-file'" ;;
        esac
    done <"$1"
}
while (($#)); do
    case $1 in
        --out) out=${2:?}; shift 2 ;;
        --binary) binaries+=("${2:?}"); shift 2 ;;
        --hook) hooks+=("${2:?}"); shift 2 ;;
        --list) add_list "${2:?}"; shift 2 ;;
        --data-dir) data_dir=${2:?}; shift 2 ;;
        --data-size) data_size=${2:?}; shift 2 ;;
        *) die "unknown option '$1' (see the comment at the top of $0)" ;;
    esac
done

kernel_tree
mkdir -p "$out"
out=$(cd "$out" && pwd)
stage=$(mktemp -d "$out/.stage.XXXXXX")
trap 'rm -rf "$stage"' EXIT

root=$stage/root
mkdir -p "$root"/{bin,dev,proc,sys,run,tmp,etc,lib/modules,data,hvkit/bin,hvkit/guest-init.d}
install_busybox "$root"
install -m 0755 "$HVKIT_REPO/scripts/images/guest-init.sh" "$root/init"

module_paths=$(resolve_modules "$KERNEL_MODULES" "${MODULES[@]}") || die "cannot resolve the guest's modules"
: >"$root/etc/hvkit-modules"
while read -r path; do
    copy_module "$path" "$root/lib/modules" >>"$root/etc/hvkit-modules"
done <<<"$module_paths"
chmod 0644 "$root"/lib/modules/*.ko

for f in "${binaries[@]}"; do
    [ -f "$f" ] || die "binary '$f' does not exist (built yet?)"
    install -m 0755 "$f" "$root/hvkit/bin/${f##*/}"
    # Debug info stays in the build tree: unstripped, the binaries alone
    # would not unpack in a 256 MiB guest.
    if [ "$(head -c 4 "$f")" = $'\x7fELF' ]; then
        strip --strip-unneeded "$root/hvkit/bin/${f##*/}"
    fi
    copy_libraries "$root" "$f"
done
# Filter modules (shared objects, with their libraries) and their rule files:
# the directory `hvagent filters` looks in after the installed extension's.
mkdir -p "$root/hvkit/lib/filters"
for entry in "${filter_files[@]}"; do
    kind=${entry%%:*} f=${entry#*:}
    [ -f "$f" ] || die "$kind '$f' does not exist (built yet?)"
    if [ "$kind" = filter-module ]; then
        install -m 0755 "$f" "$root/hvkit/lib/filters/${f##*/}"
        strip --strip-unneeded "$root/hvkit/lib/filters/${f##*/}"
        copy_libraries "$root" "$f"
    else
        install -m 0644 "$f" "$root/hvkit/lib/filters/${f##*/}"
    fi
done
for f in "${hooks[@]}"; do
    [ -f "$f" ] || die "hook '$f' does not exist"
    install -m 0755 "$f" "$root/hvkit/guest-init.d/${f##*/}"
done

pack_initramfs "$root" "$stage/initramfs.cpio.gz"

# The data disk: ext4 from a directory, with a fixed UUID, hash seed and
# time (E2FSPROGS_FAKE_TIME) so it is the same bytes every time.
data=$stage/data
if [ -n "$data_dir" ]; then
    [ -d "$data_dir" ] || die "--data-dir $data_dir: not a directory"
    cp -a "$data_dir/." "$data/"
else
    mkdir -p "$data"
    echo "hvkit data disk" >"$data/hvkit-data-disk"
fi
find "$data" -exec touch -h -d "@$HVKIT_EPOCH" {} +
E2FSPROGS_FAKE_TIME=$HVKIT_EPOCH mke2fs -q -F -t ext4 -L hvkit-data \
    -U 6876686b-6974-4000-8000-000000000001 \
    -E root_owner=0:0,hash_seed=6876686b-6974-4000-8000-000000000002 \
    -d "$data" "$stage/data.ext4" "$data_size" 2>&1 | grep -v '^Creating regular file' >&2 || true
[ -s "$stage/data.ext4" ] || die "mke2fs made no data disk"
# mke2fs copies each file's ctime, which touch cannot set: set them here.
(cd "$data" && find . -printf '%P\n') | LC_ALL=C sort |
    sed "s|.*|set_inode_field \"/&\" ctime @$HVKIT_EPOCH|" >"$stage/debugfs.cmds"
debugfs -w -f "$stage/debugfs.cmds" "$stage/data.ext4" >/dev/null 2>&1 || die "debugfs could not fix the data disk's ctimes"

cp "$KERNEL_IMAGE" "$stage/vmlinuz"
cat >"$stage/guest.env" <<ENV
HVKIT_GUEST_KERNEL=$out/vmlinuz
HVKIT_GUEST_INITRD=$out/initramfs.cpio.gz
HVKIT_GUEST_DISK=$out/data.ext4
HVKIT_GUEST_CMDLINE="console=ttyS0 quiet pci=noearly panic=-1 hvkit.poweroff=1"
HVKIT_GUEST_KERNEL_RELEASE=$KERNEL_RELEASE
ENV
# Replace outputs only when they change, so their mtimes mean something.
for f in vmlinuz initramfs.cpio.gz data.ext4 guest.env; do
    cmp -s "$stage/$f" "$out/$f" || mv "$stage/$f" "$out/$f"
done
log "guest: $KERNEL_PACKAGE $KERNEL_VERSION; initramfs $(stat -c %s "$out/initramfs.cpio.gz") bytes with ${#binaries[@]} extra binaries, ${#hooks[@]} hooks; data disk $data_size"
echo "$out/guest.env"
