#!/usr/bin/env bash
# The whole tickmesh test suite, as CI runs it (.ci/run calls this script).
#
# Installs what is missing (idempotent; seconds when everything is present), starts a private
# Redis and a tansu broker on free ports (and PostgreSQL if the machine has none running), a
# second tansu with SASL behind TLS and a TLS-only PostgreSQL for the TLS tests, runs fmt,
# clippy, buf lint and breaking, the dependency policy (deny.toml), the deployment checks and
# every test, builds the container image in a private Docker engine and runs it, and stops
# what it started.
#
# Environment:
#   TICKMESH_CACHE   where tools and build output are cached (default ~/.cache/tickmesh)
#   TICKMESH_TEST_REDIS_URL, TICKMESH_TEST_KAFKA_BROKERS, TICKMESH_TEST_DATABASE_URL,
#   TICKMESH_TEST_TLS_DATABASE_URL, TICKMESH_TEST_KAFKA_SECURE_BROKERS (with _CA, _USERNAME
#   and _PASSWORD)   use these services instead of starting them
#   TICKMESH_DEBIAN_MIRROR   the Debian mirror the container image's base is made from
#                    (default: the one this machine's apt uses)
#   extra arguments are passed to `cargo nextest run` (for example a test name filter)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck source=scripts/lib/common.sh
source scripts/lib/common.sh
# shellcheck source=scripts/lib/install.sh
source scripts/lib/install.sh
# shellcheck source=scripts/lib/services.sh
source scripts/lib/services.sh
# shellcheck source=scripts/lib/deploy.sh
source scripts/lib/deploy.sh
# shellcheck source=scripts/lib/image.sh
source scripts/lib/image.sh

started_all=$SECONDS
mkdir -p "$TOOLS"
# Build output lives outside the clone, so a fresh clone reuses it. Cargo rebuilds a crate
# whose sources are newer than its last build, which a fresh clone's files always are; a
# long-lived checkout whose files are older than another clone's build of different code can
# pick that build up (touch the changed files, or `cargo clean -p CRATE`, to rebuild).
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$TICKMESH_CACHE/target}"
RUN_DIR="$(mktemp -d "${TMPDIR:-/tmp}/tickmesh-test.XXXXXX")"
trap 'stop_docker_engine; stop_services; rm -rf "$RUN_DIR"' EXIT
trap 'printf "\nerror: step \"%s\" failed (see above); rerun ./scripts/test.sh once fixed\n" "$current_step" >&2' ERR

install_debian_packages
command -v cargo >/dev/null 2>&1 || die "cargo is missing: install Rust with rustup (https://rustup.rs)"
install_nextest
install_buf
install_cargo_deny
install_tansu
install_pyarrow

start_redis
start_tansu
start_kafka_secure
start_postgres
start_postgres_tls

step "cargo fmt --check"
cargo fmt --all -- --check
step_done

step "cargo clippy --all-targets -- -D warnings"
cargo clippy --workspace --all-targets --locked -- -D warnings
step_done

step "buf lint"
"$BUF" lint
step_done

# Breaking changes to the gRPC contract, against the latest release tag, or else the previous
# commit (on main: the state before the change being tested).
step "buf breaking"
if against=$(git describe --tags --abbrev=0 2>/dev/null); then
    note "against the latest tag, $against"
elif against=$(git rev-parse --verify -q HEAD~1); then
    note "against the previous commit, $(git log -1 --format='%h %s' "$against" | cut -c1-72)"
else
    against=""
    note "warning: this clone has no previous commit (shallow?); nothing to compare the protobuf contract against"
fi
if [ -n "$against" ]; then
    "$BUF" breaking --against ".git#ref=$against"
fi
step_done

step "cargo deny check licenses bans sources"
# The policy covers every platform's dependencies, which a build on this one does not
# download; fetch them (seconds when present) so the check itself can stay offline.
cargo fetch --locked --quiet
"$CARGO_DENY" deny --offline --log-level error check licenses bans sources
step_done

step "deploy manifests (kustomize, kubernetes-validate, deploy/check.py, promtool)"
check_deploy
step_done

step "tests (cargo nextest)"
cargo nextest run --workspace --locked --no-fail-fast "$@"
step_done

step "doc tests"
cargo test --workspace --locked --doc
step_done

check_image

printf '\nall checks passed in %ss\n' "$((SECONDS - started_all))" >&2
