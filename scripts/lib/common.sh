# Shared helpers for the tickmesh scripts (sourced, not run).
# shellcheck shell=bash

TICKMESH_CACHE="${TICKMESH_CACHE:-$HOME/.cache/tickmesh}"
TOOLS="$TICKMESH_CACHE/tools"

# Tool versions, pinned so every machine tests against the same ones.
BUF_VERSION="1.75.0"
TANSU_VERSION="0.6.0"
NEXTEST_VERSION="0.9.143"
CARGO_DENY_VERSION="0.20.2"
PYARROW_VERSION="18.1.0"

# The container image the test command builds (scripts/lib/image.sh); the dev overlay and the
# compose file run it by this name.
IMAGE="tickmesh:dev"

step_started=0
current_step="setup"
step() {
    step_started=$SECONDS
    current_step="$*"
    printf '\n==> %s\n' "$*" >&2
}
step_done() {
    printf '    done in %ss\n' "$((SECONDS - step_started))" >&2
}
note() { printf '    %s\n' "$*" >&2; }
die() {
    printf 'error: %s\n' "$*" >&2
    exit 1
}

# Runs a command as root (directly, or through sudo when we are not root).
as_root() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        die "need root to run: $* (install sudo or run as root)"
    fi
}

# Whether any TCP socket uses local port $1, in any state: listening, connected, or TIME_WAIT
# after a connection closed. A port in TIME_WAIT accepts no connections, yet a server that
# binds it without SO_REUSEADDR fails with "address in use" (tansu does). Where /proc is
# missing, only listening is checked.
port_in_use() {
    local hex
    hex=$(printf '%04X' "$1")
    if [ -r /proc/net/tcp ]; then
        cat /proc/net/tcp /proc/net/tcp6 2>/dev/null \
            | awk -v p=":$hex" 'NR > 1 && substr($2, length($2) - 4) == p { found = 1 } END { exit !found }'
    else
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
    fi
}

# Prints a TCP port no socket uses, below the kernel's ephemeral range where the system has
# room there (so no outgoing connection can take it before the server binds it), else from
# 20000-45000.
free_port() {
    local port low=32768 high=60999 from=20000 to=45000
    if [ -r /proc/sys/net/ipv4/ip_local_port_range ]; then
        read -r low high </proc/sys/net/ipv4/ip_local_port_range
    fi
    if [ "$low" -gt 21024 ]; then
        from=20000
        to=$low
    fi
    for _ in $(seq 1 200); do
        port=$((from + RANDOM % (to - from)))
        if ! port_in_use "$port"; then
            echo "$port"
            return 0
        fi
    done
    die "no free tcp port found on 127.0.0.1"
}

# Waits until something accepts connections on 127.0.0.1:$1, for at most $2 seconds. With a
# pid ($4) and a log file ($5), it stops as soon as that process exits and shows the log's end.
wait_for_port() {
    local port=$1 seconds=$2 what=$3 pid=${4:-} log=${5:-}
    for _ in $(seq 1 $((seconds * 10))); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            return 0
        fi
        if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then
            [ -n "$log" ] && tail -n 20 "$log" >&2
            die "$what exited before listening on 127.0.0.1:$port${log:+; its log is above (from $log)}"
        fi
        sleep 0.1
    done
    [ -n "$log" ] && tail -n 20 "$log" >&2
    die "$what did not start listening on 127.0.0.1:$port within ${seconds}s${log:+; its log is above (from $log)}"
}
