#!/usr/bin/env bash
# Benchmarks tickmesh: builds the release binary, starts what a distributed run needs as the
# test script does (a private Redis and a tansu broker on free ports, and PostgreSQL if the
# machine has none), runs `tickmesh bench` with the given arguments against them, and stops
# what it started.
#
#   ./scripts/bench.sh --mode distributed --rate 50000 --duration 60s
#   ./scripts/bench.sh --rate 10000 --clients 1000 --client-filter pair --markets 100
#   ./scripts/bench.sh --mode history        # HistoryService calls over a year of candles
#
# Environment: as scripts/test.sh (TICKMESH_CACHE, TICKMESH_TEST_REDIS_URL,
# TICKMESH_TEST_KAFKA_BROKERS, TICKMESH_TEST_DATABASE_URL).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck source=scripts/lib/common.sh
source scripts/lib/common.sh
# shellcheck source=scripts/lib/install.sh
source scripts/lib/install.sh
# shellcheck source=scripts/lib/services.sh
source scripts/lib/services.sh

mkdir -p "$TOOLS"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$TICKMESH_CACHE/target}"
RUN_DIR="$(mktemp -d "${TMPDIR:-/tmp}/tickmesh-bench.XXXXXX")"
trap 'stop_services; rm -rf "$RUN_DIR"' EXIT

install_debian_packages
command -v cargo >/dev/null 2>&1 || die "cargo is missing: install Rust with rustup (https://rustup.rs)"
install_tansu
start_redis
start_tansu
start_postgres

step "cargo build --release -p tickmesh"
cargo build --release --locked -p tickmesh
step_done

args=(--redis-url "$TICKMESH_TEST_REDIS_URL" --kafka-brokers "$TICKMESH_TEST_KAFKA_BROKERS")
# Embedded runs use their own SQLite file unless a database is asked for explicitly.
if [[ " $* " == *" distributed "* || " $* " == *"--mode=distributed"* \
    || " $* " == *" history "* || " $* " == *"--mode=history"* ]]; then
    args+=(--database-url "$TICKMESH_TEST_DATABASE_URL")
fi
"$CARGO_TARGET_DIR/release/tickmesh" bench "${args[@]}" "$@"
