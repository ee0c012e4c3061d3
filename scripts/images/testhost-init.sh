#!/bin/sh
# /init of the test host's initramfs (busybox sh). Installed by
# build-testhost-initramfs.sh; started by tests/system/testhost.sh.
#
# Loads the modules listed in /etc/hvkit-modules (in order), mounts the build
# machine's root (9p tag hvkit_root, read-only) under a tmpfs overlay, mounts
# the writable results share (9p tag hvkit_results) at the same absolute path
# as on the build machine, chroots into the overlay and runs
# $results/run.sh there. Its output goes to the console and to
# $results/output.log, its exit status to $results/exit-status; then the
# machine powers off. Kernel command line:
#   hvkit.results=PATH   the results directory (as the build machine names it)
#   hvkit.modules=PATH   the kernel's module tree on the build machine, bound at
#                        /lib/modules/$(uname -r) in the chroot for modprobe
#   hvkit.shell=1        a shell on the console in the chroot instead (by hand)
#   hvkit.kallsyms=1     write the kernel's text symbols to $results/kallsyms
#                        (the runner keeps them to name a hung vCPU's RIP)
# Progress lines start with "hvkit-testhost:"; docs/test-host.md has the rest.

export PATH=/bin
mount -t devtmpfs devtmpfs /dev
exec </dev/console >/dev/console 2>&1
mount -t proc proc /proc
mount -t sysfs sysfs /sys

say() { echo "hvkit-testhost: $*"; }
fail() {
    say "error: $*"
    # The runner reads a missing exit-status as a test-host failure.
    sync
    poweroff -f
    sleep 5
}

say "init started at $(cut -d' ' -f1 /proc/uptime) s"

results=""
modules=""
shell=""
kallsyms=""
for arg in $(cat /proc/cmdline); do
    case $arg in
        hvkit.results=*) results=${arg#hvkit.results=} ;;
        hvkit.modules=*) modules=${arg#hvkit.modules=} ;;
        hvkit.shell=1) shell=1 ;;
        hvkit.kallsyms=1) kallsyms=1 ;;
    esac
done

while read -r module; do
    insmod "/lib/modules/$module" || fail "cannot load $module"
done </etc/hvkit-modules
say "modules loaded at $(cut -d' ' -f1 /proc/uptime) s"

opts=trans=virtio,version=9p2000.L,msize=262144
mkdir -p /lower /rw /newroot
# cache=loose: the guest keeps what it read of the host root (cold starts of
# QEMU or python3 take a third of the time); files changed on the build
# machine during the run may be seen stale, which the one-shot test host
# does not mind. The results share stays uncached.
mount -t 9p -o "$opts,ro,cache=loose" hvkit_root /lower || fail "cannot mount the host root (9p tag hvkit_root)"
mount -t tmpfs -o mode=0755 tmpfs /rw
mkdir -p /rw/upper /rw/work
mount -t overlay -o lowerdir=/lower,upperdir=/rw/upper,workdir=/rw/work overlay /newroot ||
    fail "cannot mount the overlay over the host root"

mount -t proc proc /newroot/proc
mount -t sysfs sysfs /newroot/sys
mount -t devtmpfs devtmpfs /newroot/dev
mkdir -p /newroot/dev/pts /newroot/dev/shm
# What udev would add: bash's process substitution needs /dev/fd.
ln -sf /proc/self/fd /newroot/dev/fd
ln -sf /proc/self/fd/0 /newroot/dev/stdin
ln -sf /proc/self/fd/1 /newroot/dev/stdout
ln -sf /proc/self/fd/2 /newroot/dev/stderr
mount -t devpts -o gid=5,mode=620,ptmxmode=666 devpts /newroot/dev/pts
mount -t tmpfs -o mode=1777 tmpfs /newroot/dev/shm
mount -t tmpfs -o mode=0755 tmpfs /newroot/run
mount -t cgroup2 cgroup2 /newroot/sys/fs/cgroup 2>/dev/null
if [ -n "$modules" ] && [ -d "/newroot$modules" ]; then
    mkdir -p "/newroot/lib/modules/$(uname -r)"
    mount --bind "/newroot$modules" "/newroot/lib/modules/$(uname -r)"
fi
# /tmp stays the overlay's view of the build machine's /tmp (writable, the
# writes kept in the tmpfs), so paths a test made there before the boot work;
# /run is fresh, so nothing thinks the build machine's daemons run here.
# The test host has loopback only.
ip link set lo up
hostname hvkit-testhost

if [ -n "$shell" ]; then
    say "shell in the chroot (exit powers off)"
    chroot /newroot /bin/bash -l || chroot /newroot /bin/sh
    sync
    poweroff -f
fi

[ -n "$results" ] || fail "no hvkit.results= on the kernel command line"
mkdir -p "/newroot$results"
mount -t 9p -o "$opts" hvkit_results "/newroot$results" || fail "cannot mount the results share (9p tag hvkit_results)"
[ -f "/newroot$results/run.sh" ] || fail "no run.sh in the results share"

[ -z "$kallsyms" ] || grep ' [tT] ' /proc/kallsyms >"/newroot$results/kallsyms"
say "scenario starting at $(cut -d' ' -f1 /proc/uptime) s"
: >"/newroot$results/started"
(
    chroot /newroot /bin/bash "$results/run.sh" </dev/null
    echo $? >"/newroot$results/exit-status.tmp"
) 2>&1 | tee "/newroot$results/output.log"
mv "/newroot$results/exit-status.tmp" "/newroot$results/exit-status"
say "scenario exited with status $(cat "/newroot$results/exit-status") at $(cut -d' ' -f1 /proc/uptime) s"
sync
umount "/newroot$results"
poweroff -f
sleep 5
