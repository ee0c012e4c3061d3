# shellcheck shell=bash
# The helpers every system scenario and bench script shares (sourced, not
# run). The other libraries here source it themselves; a script that needs
# only these sources it directly. Guest hooks and the images' init scripts
# run inside the guest or the test host's initramfs, where this file is not,
# and keep their own `say`.

# fail MESSAGE: prints "FAIL: MESSAGE" and, when `serial` names a file (the
# guest's serial log), its last 30 lines; exits 1.
fail() {
    echo "FAIL: $*"
    [ ! -f "${serial:-}" ] || { echo "--- last lines of $serial"; tail -n 30 "$serial"; }
    exit 1
}

# require_set [--hint TEXT] VAR...: fails with "VAR is not set" (and
# " (TEXT)") for the first VAR that is unset or empty.
require_set() {
    local hint="" v
    if [ "${1:-}" = --hint ]; then
        hint=" ($2)"
        shift 2
    fi
    for v in "$@"; do
        [ -n "${!v:-}" ] || fail "$v is not set$hint"
    done
}
