# Shared by the interop and HTTP attack drivers (sourced, not run): a scratch
# directory removed on exit with the background server, `fail`, and starting a
# server that prints its URL when ready.
set -euo pipefail
work=$(mktemp -d "${TMPDIR:-/tmp}/hvkit-interop-XXXXXX")
server_pid=""
cleanup() {
    if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

# start_server READY_PATTERN COMMAND...: runs COMMAND in the background with
# output in $work/server.out and errors in $work/server.err, and waits until
# a line matches READY_PATTERN (fails if the server exits first).
start_server() {
    local ready=$1
    shift
    "$@" >"$work/server.out" 2>"$work/server.err" &
    server_pid=$!
    for _ in $(seq 100); do
        grep -q "$ready" "$work/server.out" 2>/dev/null && return 0
        kill -0 "$server_pid" 2>/dev/null || fail "$1 exited: $(cat "$work/server.err")"
        sleep 0.1
    done
    fail "$1 did not print '$ready' within 10 s"
}

# start_hvrepo_serve HVREPO REPO: serves REPO and sets metadata_url and targets_url.
start_hvrepo_serve() {
    start_server '^  targets:' "$1" serve "$2" --quiet
    metadata_url=$(awk '/^  metadata:/ {print $2}' "$work/server.out")
    targets_url=$(awk '/^  targets:/ {print $2}' "$work/server.out")
    [ -n "$metadata_url" ] && [ -n "$targets_url" ] || fail "hvrepo serve printed no URLs"
}

# flip_byte FILE OFFSET: replaces the byte at OFFSET with its complement, so
# the file always changes (writing a fixed byte leaves it unchanged when that
# byte was already there).
flip_byte() {
    local old
    old=$(od -An -tu1 -j "$2" -N1 "$1" | tr -d ' ')
    printf "\\$(printf '%03o' $((255 - old)))" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}
