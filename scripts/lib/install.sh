# Idempotent installation of everything the test command needs (sourced by test.sh).
# Each function returns in well under a second when its tool is already present.
# shellcheck shell=bash

# Debian packages: C toolchain for the -sys crates (librdkafka is built from source by rdkafka,
# with TLS and SASL SCRAM from the system's OpenSSL, hence libssl-dev; sqlite by
# libsqlite3-sys); stunnel4, which puts TLS in front of the test broker (it has none of its own);
# the container image step's Docker engine (Debian's docker.io: its 20.10 client has BuildKit
# built in) and debootstrap for its base image; and Redis (server, sentinel mode and CLI),
# PostgreSQL, Node.js and promtool where the machine lacks them.
DEBIAN_PACKAGES=(build-essential pkg-config zlib1g-dev libssl-dev perl python3 curl ca-certificates stunnel4 docker.io debootstrap)

install_debian_packages() {
    step "debian packages"
    local wanted=("${DEBIAN_PACKAGES[@]}") missing=()
    command -v redis-server >/dev/null 2>&1 || wanted+=(redis-server)
    # redis-cli drives the Sentinel failover test.
    command -v redis-cli >/dev/null 2>&1 || wanted+=(redis-tools)
    # openssl makes the TLS tests' certificates; venv holds the manifest validator.
    command -v openssl >/dev/null 2>&1 || wanted+=(openssl)
    python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || wanted+=(python3-venv)
    # pip installs pyarrow, which reads the export test's Parquet files back.
    python3 -m pip --version >/dev/null 2>&1 || wanted+=(python3-pip)
    command -v initdb >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || wanted+=(postgresql)
    command -v npm >/dev/null 2>&1 || wanted+=(nodejs npm)
    # The web page's tests: headless Chromium driven over WebDriver by chromedriver.
    [ -x /usr/bin/chromium ] || wanted+=(chromium)
    [ -x /usr/bin/chromedriver ] || wanted+=(chromium-driver)
    # promtool checks the monitoring component's alert rules (Debian ships it with prometheus;
    # the package's server is not started).
    command -v promtool >/dev/null 2>&1 || wanted+=(prometheus)
    for pkg in "${wanted[@]}"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed" || missing+=("$pkg")
    done
    if [ ${#missing[@]} -eq 0 ]; then
        note "all present"
    else
        note "installing: ${missing[*]}"
        as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
            || die "apt-get could not install: ${missing[*]} (see above; is the Debian mirror reachable?)"
    fi
    step_done
}

install_buf() {
    step "buf $BUF_VERSION (npm @bufbuild/buf)"
    BUF="$TOOLS/buf-$BUF_VERSION/node_modules/.bin/buf"
    if [ -x "$BUF" ]; then
        note "cached at $BUF"
    else
        local dir="$TOOLS/buf-$BUF_VERSION"
        mkdir -p "$dir"
        npm install --silent --no-audit --no-fund --prefix "$dir" "@bufbuild/buf@$BUF_VERSION" >&2 \
            || die "npm could not install @bufbuild/buf@$BUF_VERSION (is the npm registry reachable?)"
    fi
    "$BUF" --version >/dev/null || die "buf at $BUF does not run"
    step_done
}

# pyarrow: the Parquet reader, not ours, that the export test reads tickmesh's files back
# with. Installed into the tool cache, not the system Python, and put on PYTHONPATH.
install_pyarrow() {
    step "pyarrow $PYARROW_VERSION (PyPI)"
    local dir="$TOOLS/pyarrow-$PYARROW_VERSION"
    if [ -f "$dir/.complete" ]; then
        note "cached in $dir"
    else
        rm -rf "$dir"
        # --break-system-packages: Debian's pip refuses any install without it (PEP 668), even
        # into a --target folder that is not the system's.
        python3 -m pip install --quiet --disable-pip-version-check --no-deps --break-system-packages \
            --target "$dir" "pyarrow==$PYARROW_VERSION" >&2 \
            || die "pip could not install pyarrow==$PYARROW_VERSION (is PyPI reachable?)"
        touch "$dir/.complete"
    fi
    export PYTHONPATH="$dir${PYTHONPATH:+:$PYTHONPATH}"
    python3 -c 'import pyarrow.parquet' || die "pyarrow in $dir does not import"
    step_done
}

install_nextest() {
    step "cargo-nextest"
    if command -v cargo-nextest >/dev/null 2>&1; then
        note "found $(command -v cargo-nextest)"
    else
        local root="$TOOLS/nextest-$NEXTEST_VERSION"
        if [ ! -x "$root/bin/cargo-nextest" ]; then
            note "building cargo-nextest $NEXTEST_VERSION (a few minutes, once)"
            cargo install --locked cargo-nextest --version "$NEXTEST_VERSION" --root "$root" \
                --target-dir "$TICKMESH_CACHE/build/nextest"
        fi
        export PATH="$root/bin:$PATH"
    fi
    step_done
}

# cargo-deny checks the dependency policy in deny.toml. Built once into the cache (a few
# minutes on 2 cores), installed under .partial and renamed, so an interrupted build is redone.
install_cargo_deny() {
    step "cargo-deny $CARGO_DENY_VERSION (dependency policy)"
    local root="$TOOLS/cargo-deny-$CARGO_DENY_VERSION"
    CARGO_DENY="$root/bin/cargo-deny"
    if [ -x "$CARGO_DENY" ]; then
        note "cached at $CARGO_DENY"
    else
        note "building cargo-deny $CARGO_DENY_VERSION (a few minutes, once)"
        rm -rf "$root.partial"
        cargo install --locked cargo-deny --version "$CARGO_DENY_VERSION" --root "$root.partial" \
            --target-dir "$TICKMESH_CACHE/build/cargo-deny" \
            || die "cargo could not build cargo-deny $CARGO_DENY_VERSION (is crates.io reachable?)"
        rm -rf "$root"
        mv "$root.partial" "$root"
    fi
    "$CARGO_DENY" --version >/dev/null || die "cargo-deny at $CARGO_DENY does not run"
    step_done
}

# tansu is the Kafka-protocol test broker (docs/architecture.md). Its build takes about 15
# minutes on 2 cores, so it is built once into the cache; an interrupted build never leaves a
# binary that looks complete, because it is installed under .partial and renamed at the end.
install_tansu() {
    step "tansu $TANSU_VERSION (Kafka-protocol test broker)"
    local root="$TOOLS/tansu-$TANSU_VERSION"
    TANSU="$root/bin/tansu"
    if [ -x "$TANSU" ]; then
        note "cached at $TANSU"
    else
        note "building tansu with cargo: about 15 minutes on 2 cores, once per cache"
        rm -rf "$root.partial"
        cargo install tansu --version "$TANSU_VERSION" --locked --features dynostore,libsql \
            --root "$root.partial" --target-dir "$TICKMESH_CACHE/build/tansu" \
            || die "building tansu failed; the log above says why (rerun to resume the cached build)"
        rm -rf "$root"
        mv "$root.partial" "$root"
    fi
    step_done
}
