# shellcheck shell=bash
# Shared by the image builders in scripts/images/ (sourced, not run).
#
# Paths: every output lives under HVKIT_IMAGE_DIR (default: the repository's
# build/images/, git-ignored); the unpacked kernel package under
# HVKIT_IMAGE_CACHE (default: $HVKIT_IMAGE_DIR/cache). Builders print the
# path of what they made on stdout and talk on stderr.

HVKIT_REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
HVKIT_IMAGE_DIR=${HVKIT_IMAGE_DIR:-$HVKIT_REPO/build/images}
HVKIT_IMAGE_CACHE=${HVKIT_IMAGE_CACHE:-$HVKIT_IMAGE_DIR/cache}
# Fixed timestamp for reproducible archives and file systems (the value is
# arbitrary; what matters is that it never changes between builds).
HVKIT_EPOCH=${SOURCE_DATE_EPOCH:-1700000000}

log() { echo "${0##*/}: $*" >&2; }
die() { echo "${0##*/}: error: $*" >&2; exit 1; }

# kernel_tree: the directory of the unpacked kernel package (fetching it
# through apt when needed). Sets KERNEL_TREE, KERNEL_RELEASE, KERNEL_IMAGE
# (the bzImage) and KERNEL_MODULES (lib/modules/RELEASE inside the tree).
kernel_tree() {
    KERNEL_TREE=$("$HVKIT_REPO/scripts/images/fetch-kernel.sh") || die "cannot get the kernel package"
    # shellcheck disable=SC1091
    . "$KERNEL_TREE/hvkit-kernel.env"
}

# module_index MODULES_DIR: prints "name path" for every module file below
# MODULES_DIR/kernel, names normalised as the kernel does (dashes become
# underscores), so depends= strings and file names compare equal.
module_index() {
    find "$1/kernel" -name '*.ko' -o -name '*.ko.xz' -o -name '*.ko.zst' -o -name '*.ko.gz' |
        LC_ALL=C sort | while read -r path; do
            local base=${path##*/}
            base=${base%%.ko*}
            echo "${base//-/_} $path"
        done
}

# resolve_modules MODULES_DIR NAME...: prints the module files needed to load
# NAME... in a valid load order: each module after everything its
# `depends=` string names (read with modinfo, which also reads compressed
# modules), the requested order kept where the dependencies allow. Modules
# built into the kernel (modules.builtin) are skipped; an unknown name fails.
resolve_modules() {
    local dir=$1; shift
    local -A path_of=() state=()
    local name path
    while read -r name path; do path_of[$name]=$path; done < <(module_index "$dir")
    local -A builtin=()
    if [ -f "$dir/modules.builtin" ]; then
        while read -r path; do
            name=${path##*/}; name=${name%.ko}; builtin[${name//-/_}]=1
        done <"$dir/modules.builtin"
    fi
    _visit() {
        local n=${1//-/_} dep
        [ "${state[$n]:-}" = "done" ] && return 0
        [ "${state[$n]:-}" = active ] && die "module dependency cycle through $n"
        if [ -z "${path_of[$n]:-}" ]; then
            [ -n "${builtin[$n]:-}" ] && { state[$n]="done"; return 0; }
            die "module '$n' is neither in $dir/kernel nor built in: check the name"
        fi
        state[$n]=active
        local deps_line deps=()
        deps_line=$(modinfo -F depends "${path_of[$n]}") || die "modinfo failed on ${path_of[$n]}"
        IFS=, read -ra deps <<<"$deps_line"
        for dep in "${deps[@]}"; do [ -n "$dep" ] && _visit "$dep"; done
        state[$n]="done"
        echo "${path_of[$n]}"
    }
    for name in "$@"; do _visit "$name"; done
}

# copy_module SRC DEST_DIR: copies a module file as plain .ko (decompressing
# .xz/.zst/.gz: busybox insmod only reads uncompressed modules) and prints
# the new file's name.
copy_module() {
    local src=$1 dest=$2 base=${1##*/}
    local out=$dest/${base%%.ko*}.ko
    case $src in
        *.ko.xz) xz -dc "$src" >"$out" ;;
        *.ko.zst) zstd -qdc "$src" >"$out" ;;
        *.ko.gz) gzip -dc "$src" >"$out" ;;
        *) cp "$src" "$out" ;;
    esac
    echo "${out##*/}"
}

# copy_libraries ROOT FILE...: copies every shared library ldd names for
# each FILE, and the dynamic loader, to the same paths below ROOT, so FILE
# runs inside ROOT. Static executables need nothing.
copy_libraries() {
    local root=$1; shift
    local f lib
    for f in "$@"; do
        # ldd prints "name => /path (addr)", or "/path (addr)" for the loader;
        # a static executable gives "not a dynamic executable" and no path.
        while read -r lib; do
            [ -n "$lib" ] || continue
            [ -e "$root$lib" ] || install -D -m 0755 "$(readlink -f "$lib")" "$root$lib"
        done < <(ldd "$f" 2>/dev/null | sed -n 's/.*=> \(\/[^ ]*\).*/\1/p; s/^[[:space:]]*\(\/[^ ]*\) (.*/\1/p' | LC_ALL=C sort -u)
    done
}

# install_busybox ROOT: busybox-static as ROOT/bin/busybox with a symlink
# for each of its applets.
install_busybox() {
    local root=$1 applet
    [ -x /bin/busybox ] || die "no /bin/busybox: install busybox-static (scripts/setup.sh)"
    mkdir -p "$root/bin"
    install -m 0755 /bin/busybox "$root/bin/busybox"
    for applet in $("$root/bin/busybox" --list); do
        [ "$applet" = busybox ] || ln -sf busybox "$root/bin/$applet"
    done
}

# pack_initramfs DIR OUT: a newc cpio of DIR, gzip-compressed, reproducible:
# sorted names, every mtime at HVKIT_EPOCH, owner root, no gzip timestamp.
pack_initramfs() {
    local dir=$1 out=$2
    find "$dir" -exec touch -h -d "@$HVKIT_EPOCH" {} +
    (cd "$dir" && find . -mindepth 1 -printf '%P\n' | LC_ALL=C sort |
        cpio --quiet -o -H newc -R 0:0 --reproducible) | gzip -n -9 >"$out.tmp"
    mv "$out.tmp" "$out"
}
