# Shared helpers for the tickmesh scripts (sourced, not run).
# shellcheck shell=bash

TICKMESH_CACHE="${TICKMESH_CACHE:-$HOME/.cache/tickmesh}"
TOOLS="$TICKMESH_CACHE/tools"

# Tool versions, pinned so every machine tests against the same ones.
BUF_VERSION="1.75.0"
TANSU_VERSION="0.6.0"
NEXTEST_VERSION="0.9.143"

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

# Prints a TCP port nobody listens on, from the ephemeral-ish range 20000-45000.
free_port() {
    local port
    for _ in $(seq 1 200); do
        port=$((20000 + RANDOM % 25000))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            echo "$port"
            return 0
        fi
    done
    die "no free tcp port found on 127.0.0.1"
}

# Waits until something accepts connections on 127.0.0.1:$1, for at most $2 seconds.
wait_for_port() {
    local port=$1 seconds=$2 what=$3
    for _ in $(seq 1 $((seconds * 10))); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            return 0
        fi
        sleep 0.1
    done
    die "$what did not start listening on 127.0.0.1:$port within ${seconds}s"
}
