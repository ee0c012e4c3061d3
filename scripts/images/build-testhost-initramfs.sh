#!/usr/bin/env bash
# Builds the test host's boot files: Debian's stock kernel and an initramfs
# with busybox-static, the modules the test host needs (in load order) and
# testhost-init.sh as /init. Prints the path of the env file naming them:
#
#   HVKIT_IMAGE_DIR/testhost/testhost.env   TESTHOST_KERNEL, TESTHOST_INITRD,
#                                           TESTHOST_MODULES (host module tree)
#
# Reproducible: the same kernel package and busybox give the same bytes.
# HVKIT_TESTHOST_EXTRA_MODULES adds modules (names as modinfo knows them);
# any other module can be modprobe'd inside the test host's chroot.
set -euo pipefail
umask 022
. "$(dirname "$0")/common.sh"

# Order as recorded in docs/DESIGN ("Where tests run"); dependencies come
# first anyway. Then networking for scenarios: TAP devices, bridges, veths.
MODULES=(
    virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci
    netfs fscache 9pnet 9pnet_virtio 9p overlay
    irqbypass ccp kvm kvm-amd
    tun bridge veth
)
# shellcheck disable=SC2206
MODULES+=(${HVKIT_TESTHOST_EXTRA_MODULES:-})

kernel_tree
out=$HVKIT_IMAGE_DIR/testhost
mkdir -p "$out"
stage=$(mktemp -d "$out/.stage.XXXXXX")
trap 'rm -rf "$stage"' EXIT

root=$stage/root
mkdir -p "$root"/{bin,dev,proc,sys,etc,lib/modules,lower,rw,newroot}
install_busybox "$root"
install -m 0755 "$HVKIT_REPO/scripts/images/testhost-init.sh" "$root/init"

module_paths=$(resolve_modules "$KERNEL_MODULES" "${MODULES[@]}") || die "cannot resolve the test host's modules"
: >"$root/etc/hvkit-modules"
while read -r path; do
    copy_module "$path" "$root/lib/modules" >>"$root/etc/hvkit-modules"
done <<<"$module_paths"
chmod 0644 "$root"/lib/modules/*.ko

pack_initramfs "$root" "$stage/initramfs.cpio.gz"
# Replace outputs only when they change, so their mtimes mean something.
cmp -s "$stage/initramfs.cpio.gz" "$out/initramfs.cpio.gz" || mv "$stage/initramfs.cpio.gz" "$out/initramfs.cpio.gz"
cmp -s "$KERNEL_IMAGE" "$out/vmlinuz" || cp "$KERNEL_IMAGE" "$out/vmlinuz"
cat >"$stage/testhost.env" <<ENV
TESTHOST_KERNEL=$out/vmlinuz
TESTHOST_INITRD=$out/initramfs.cpio.gz
TESTHOST_MODULES=$KERNEL_MODULES
TESTHOST_KERNEL_RELEASE=$KERNEL_RELEASE
ENV
cmp -s "$stage/testhost.env" "$out/testhost.env" || mv "$stage/testhost.env" "$out/testhost.env"
log "test host: $KERNEL_PACKAGE $KERNEL_VERSION; initramfs $(stat -c %s "$out/initramfs.cpio.gz") bytes; modules: $(tr '\n' ' ' <"$root/etc/hvkit-modules")"
echo "$out/testhost.env"
