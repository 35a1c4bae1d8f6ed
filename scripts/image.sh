#!/usr/bin/env bash
# Builds the tickmesh container image (tickmesh:dev) in a private Docker engine and runs it as
# the test command does, without the rest of the test suite: `./scripts/test.sh` ends with the
# same step.
#
# Installs what is missing, starts a private Redis and a tansu broker (and PostgreSQL if the
# machine has none running), checks the manifests, builds the release binary and the image,
# runs `tickmesh up --simulate` and the four services in containers, and stops everything it
# started, the engine included. The image stays in that engine's store ($TICKMESH_CACHE/docker)
# for the next run; deploy/README.md says how to build it with your own Docker.
#
# Environment: as ./scripts/test.sh (TICKMESH_CACHE, TICKMESH_TEST_*), and
#   TICKMESH_DEBIAN_MIRROR   the Debian mirror for the base image (default: the one apt uses)
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
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$TICKMESH_CACHE/target}"
RUN_DIR="$(mktemp -d "${TMPDIR:-/tmp}/tickmesh-image.XXXXXX")"
trap 'stop_docker_engine; stop_services; rm -rf "$RUN_DIR"' EXIT
trap 'printf "\nerror: step \"%s\" failed (see above); rerun ./scripts/image.sh once fixed\n" "$current_step" >&2' ERR

install_debian_packages
command -v cargo >/dev/null 2>&1 || die "cargo is missing: install Rust with rustup (https://rustup.rs)"
install_tansu

start_redis
start_tansu
start_postgres

step "deploy manifests (kustomize, kubernetes-validate, deploy/check.py, promtool)"
check_deploy
step_done

check_image

printf '\nthe image %s passed its checks in %ss\n' "$IMAGE" "$((SECONDS - started_all))" >&2
