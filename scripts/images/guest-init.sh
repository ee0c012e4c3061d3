#!/bin/sh
# /init of the hvkit guest image (busybox sh). Installed by build-guest.sh.
#
# Loads the modules in /etc/hvkit-modules, configures eth0 and mounts the
# data disk as the kernel command line says, prints "hvkit-guest: init
# reached", runs the hooks in /hvkit/guest-init.d/ in name order, then powers
# off, reboots, starts a shell or idles. Kernel command line:
#   hvkit.ip=ADDR/PREFIX  static address for eth0 (none: eth0 left down)
#   hvkit.gw=ADDR         default route
#   hvkit.poweroff=1      power off after the hooks (poweroff -f)
#   hvkit.poweroff=reboot reboot instead (reboot -f; with reboot=k an i8042
#                         reset, for a VMM without ACPI)
#   hvkit.shell=1         a shell on the console after the hooks
# A hook may ask for the same by writing "poweroff" or "reboot" to
# /run/hvkit/poweroff. Hooks find the extra binaries on PATH (/hvkit/bin).
# Every line the init prints starts with "hvkit-guest:"; docs/test-host.md
# lists them.

export PATH=/hvkit/bin:/bin
mount -t devtmpfs devtmpfs /dev
exec </dev/console >/dev/console 2>&1
if ! mount -t proc proc /proc; then
    # The initramfs did not unpack (the kernel says why; usually too little
    # memory for it): nothing below can work. Stop the VM now rather than
    # idle until a test's deadline: reboot -f needs no /proc.
    echo "hvkit-guest: FATAL: no /proc: the initramfs is incomplete; stopping the VM"
    reboot -f
fi
mount -t sysfs sysfs /sys
mkdir -p /dev/pts /run /tmp
ln -sf /proc/self/fd /dev/fd
mount -t devpts devpts /dev/pts
mount -t tmpfs -o mode=0755 tmpfs /run
mount -t tmpfs -o mode=1777 tmpfs /tmp
mkdir -p /run/hvkit

say() { echo "hvkit-guest: $*"; }

ip_addr=""
gw=""
poweroff=""
shell=""
for arg in $(cat /proc/cmdline); do
    case $arg in
        hvkit.ip=*) ip_addr=${arg#hvkit.ip=} ;;
        hvkit.gw=*) gw=${arg#hvkit.gw=} ;;
        hvkit.poweroff=1) poweroff=poweroff ;;
        hvkit.poweroff=reboot) poweroff=reboot ;;
        hvkit.shell=1) shell=1 ;;
    esac
done

while read -r module; do
    insmod "/lib/modules/$module" || say "error: cannot load $module"
done </etc/hvkit-modules
hostname hvkit-guest
ip link set lo up

if [ -n "$ip_addr" ]; then
    # The driver probes eth0 while insmod runs; give a slow device a moment.
    i=0
    while [ ! -e /sys/class/net/eth0 ] && [ $i -lt 20 ]; do sleep 0.1; i=$((i + 1)); done
    if [ ! -e /sys/class/net/eth0 ]; then
        say "error: hvkit.ip=$ip_addr given but there is no eth0"
    elif ip addr add "$ip_addr" dev eth0 && ip link set eth0 up; then
        [ -z "$gw" ] || ip route add default via "$gw" || say "error: cannot add the default route via $gw"
        say "eth0 $ip_addr up${gw:+, default route via $gw}"
    else
        say "error: cannot configure eth0 with $ip_addr"
    fi
fi

if [ -b /dev/vda ]; then
    mkdir -p /data
    # A read-only device mounts without -o ro too (the kernel falls back),
    # so the mode printed is the one /proc/mounts reports.
    if mount -t ext4 /dev/vda /data 2>/dev/null || mount -t ext4 -o ro /dev/vda /data; then
        mode=read-write
        grep -q '^/dev/vda /data [^ ]* ro[, ]' /proc/mounts && mode=read-only
        say "/data: /dev/vda mounted $mode"
    else
        say "error: cannot mount /dev/vda on /data"
    fi
fi

say "kernel up for $(cut -d' ' -f1 /proc/uptime) s"
say "init reached"

for hook in /hvkit/guest-init.d/*; do
    [ -x "$hook" ] || continue
    say "hook ${hook##*/} starting"
    "$hook" </dev/null
    say "hook ${hook##*/} exited with status $?"
done
say "hooks done"

[ ! -s /run/hvkit/poweroff ] || poweroff=$(cat /run/hvkit/poweroff)
if [ -n "$poweroff" ]; then
    sync
    umount /data 2>/dev/null
    say "$poweroff now"
    case $poweroff in
        reboot) reboot -f ;;
        *) poweroff -f ;;
    esac
fi
if [ -n "$shell" ]; then
    exec setsid cttyhack sh
fi
# Nothing more to do; the init must not exit (that panics the kernel).
while :; do sleep 3600; done
