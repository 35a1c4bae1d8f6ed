# The container image, built and run here (sourced by test.sh).
#
# A private Docker engine (its own data root, exec root, socket and pid file; no iptables, no
# bridge: containers use the host's network), a Debian bookworm base image made with debootstrap
# from the mirror this machine's apt uses (no registry is reachable, so nothing is pulled), and
# deploy/Dockerfile's image around the release binary. Then the image runs as users and the
# manifests run it:
#   - `tickmesh up --simulate`: health from the host, a StreamTicks event, the web page and a
#     gRPC-Web call over HTTP/1.1, the metrics the monitoring component queries, start time;
#   - migrate, subscription, ingestion, bridge and storage with the arguments, environment,
#     security context, probes and grace period of deploy/k8s/base, against the test Redis,
#     broker and PostgreSQL: trades reach PostgreSQL and a stream client;
#   - every container runs as uid 10001 on a read-only root filesystem, and `docker stop`
#     (SIGTERM) ends each with exit code 0 within its grace period.
# stop_docker_engine (test.sh's exit trap) removes the containers, stops the engine and
# unmounts what it left, whatever happened.
# shellcheck shell=bash

# Debian's docker.io client (20.10): BuildKit is built in. A newer client earlier in PATH may
# need the buildx plugin for BuildKit builds, which is not installed here.
DOCKER=/usr/bin/docker
# The uid the image runs as (deploy/Dockerfile's USER, the manifests' runAsUser).
IMAGE_UID=10001
# Targets the README states for the image.
IMAGE_MAX_MB=120
# Bumped when the base's recipe changes, so the cached rootfs is made again.
DEBIAN_BASE_REVISION=1

DOCKER_ENGINE_PID=""
DOCKER_DIR=""
DOCKER_SOCK=""
DOCKER_DATA_ROOT=""
IMAGE_DATABASE=""

docker_() { as_root env DOCKER_HOST="unix://$DOCKER_SOCK" DOCKER_BUILDKIT=1 "$DOCKER" "$@"; }

# Whether a process is alive (and not a zombie).
alive() { [ -n "$1" ] && kill -0 "$1" 2>/dev/null && ! grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null; }

# ---- apt sources ---------------------------------------------------------------------------

# The URI of this machine's apt source for Debian suite $1 (deb822 .sources files first, then
# sources.list lines), or nothing.
apt_source_uri() {
    local suite=$1 uri
    uri=$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null | awk -v want="$suite" '
        BEGIN { RS = ""; FS = "\n" }
        {
            uris = ""; suites = ""; types = ""; enabled = 1
            for (i = 1; i <= NF; i++) {
                if ($i ~ /^URIs:/) { uris = $i; sub(/^URIs:[ \t]*/, "", uris) }
                else if ($i ~ /^Suites:/) { suites = $i; sub(/^Suites:/, "", suites) }
                else if ($i ~ /^Types:/) { types = $i }
                else if ($i ~ /^Enabled:[ \t]*no/) { enabled = 0 }
            }
            if (enabled && types ~ /[ \t]deb([ \t]|$)/ && (" " suites " ") ~ ("[ \t]" want "[ \t]")) {
                split(uris, u, /[ \t]+/); print u[1]; exit
            }
        }')
    if [ -z "$uri" ]; then
        uri=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null | awk -v want="$suite" '
            $1 == "deb" {
                i = 2
                if ($i ~ /^\[/) { while (i <= NF && $i !~ /\]$/) i++; i++ }
                if ($(i + 1) == want) { print $i; exit }
            }')
    fi
    printf '%s' "$uri"
}

# The Debian mirror for the base image: TICKMESH_DEBIAN_MIRROR, else the one this machine's apt
# uses for bookworm, else deb.debian.org.
debian_mirror() {
    local uri="${TICKMESH_DEBIAN_MIRROR:-$(apt_source_uri bookworm)}"
    printf '%s' "${uri:-http://deb.debian.org/debian}"
}

# ---- the engine ----------------------------------------------------------------------------

start_docker_engine() {
    step "container image: docker engine"
    [ -x "$DOCKER" ] && command -v dockerd >/dev/null 2>&1 \
        || die "the Docker engine is missing ($DOCKER, dockerd): apt-get install docker.io (the debian packages step installs it; did it fail?)"
    DOCKER_DIR="$RUN_DIR/docker"
    DOCKER_SOCK="$DOCKER_DIR/docker.sock"
    mkdir -p "$DOCKER_DIR/exec"
    # Images and the build cache stay in the cache between runs, so a warm run rebuilds only
    # what changed. One engine at a time can use that store: a run that finds it taken uses a
    # fresh one of its own (and builds from scratch).
    DOCKER_DATA_ROOT="$TICKMESH_CACHE/docker"
    mkdir -p "$DOCKER_DATA_ROOT"
    exec {DOCKER_LOCK_FD}>"$TICKMESH_CACHE/docker.lock"
    if ! flock -n "$DOCKER_LOCK_FD"; then
        DOCKER_DATA_ROOT="$DOCKER_DIR/data"
        note "another run is using $TICKMESH_CACHE/docker: this one uses a store of its own in $DOCKER_DATA_ROOT"
    fi
    as_root dockerd --data-root "$DOCKER_DATA_ROOT" --exec-root "$DOCKER_DIR/exec" \
        --pidfile "$DOCKER_DIR/docker.pid" -H "unix://$DOCKER_SOCK" \
        --iptables=false --ip-forward=false --bridge=none --log-level warn \
        >"$DOCKER_DIR/dockerd.log" 2>&1 &
    DOCKER_ENGINE_PID=$!
    local started=$SECONDS
    until docker_ version >/dev/null 2>&1; do
        if ! alive "$DOCKER_ENGINE_PID"; then
            tail -n 20 "$DOCKER_DIR/dockerd.log" >&2
            die "dockerd exited at start (its log is above, from $DOCKER_DIR/dockerd.log): it needs root, cgroups and overlayfs"
        fi
        if [ $((SECONDS - started)) -ge 60 ]; then
            tail -n 20 "$DOCKER_DIR/dockerd.log" >&2
            die "dockerd did not answer on $DOCKER_SOCK within 60s (its log is above, from $DOCKER_DIR/dockerd.log)"
        fi
        sleep 0.2
    done
    note "dockerd $(docker_ version --format '{{.Server.Version}}') on $DOCKER_SOCK, store $DOCKER_DATA_ROOT"
    # Containers a run that was killed left in the store would block the names used below.
    local stale
    stale=$(docker_ ps -aq)
    # shellcheck disable=SC2086 # one argument per id
    [ -z "$stale" ] || docker_ rm -f $stale >/dev/null
    step_done
}

# Removes every container, stops the engine (and the containerd it started), unmounts what
# they left under the exec root (nsfs mounts of network namespaces) and removes it. Safe to
# call when nothing was started.
stop_docker_engine() {
    [ -n "$DOCKER_DIR" ] || return 0
    if alive "$DOCKER_ENGINE_PID"; then
        local ids
        ids=$(docker_ ps -aq 2>/dev/null || true)
        # shellcheck disable=SC2086 # one argument per id
        [ -z "$ids" ] || docker_ rm -f $ids >/dev/null 2>&1 || true
        [ -n "$IMAGE_DATABASE" ] && drop_image_database
        local pid
        pid=$(cat "$DOCKER_DIR/docker.pid" 2>/dev/null || echo "$DOCKER_ENGINE_PID")
        as_root kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq 1 150); do
            alive "$pid" || break
            sleep 0.1
        done
        alive "$pid" && as_root kill -KILL "$pid" 2>/dev/null
    elif [ -n "$IMAGE_DATABASE" ]; then
        drop_image_database
    fi
    local containerd
    containerd=$(cat "$DOCKER_DIR/exec/containerd/containerd.pid" 2>/dev/null || true)
    alive "$containerd" && as_root kill -TERM "$containerd" 2>/dev/null
    local mounts
    mounts=$(awk -v dir="$DOCKER_DIR/" 'index($2, dir) == 1 { print $2 }' /proc/self/mounts | sort -r)
    # shellcheck disable=SC2086 # one argument per mount point
    [ -z "$mounts" ] || as_root umount -l $mounts 2>/dev/null || true
    as_root rm -rf --one-file-system "$DOCKER_DIR"
    DOCKER_DIR=""
    DOCKER_ENGINE_PID=""
}

# ---- the base image ------------------------------------------------------------------------

# debian:bookworm-slim in the private store, from a rootfs made with debootstrap (minbase, then
# slimmed as Debian's own slim images are) and cached as a tarball in $TOOLS.
build_base_image() {
    step "container image: debian:bookworm-slim from debootstrap"
    local name="debian-bookworm-minbase-$DEBIAN_BASE_REVISION.tar.gz"
    local tarball="$TOOLS/$name"
    if [ -f "$tarball" ]; then
        note "rootfs cached at $tarball"
    else
        command -v debootstrap >/dev/null 2>&1 \
            || die "debootstrap is missing: apt-get install debootstrap (the debian packages step installs it; did it fail?)"
        local mirror rootfs="$RUN_DIR/rootfs" log="$RUN_DIR/debootstrap.log"
        mirror=$(debian_mirror)
        note "debootstrap --variant=minbase bookworm from $mirror: about a minute, once per cache"
        # Its stages as progress; the whole log only when it fails.
        if ! as_root debootstrap --variant=minbase bookworm "$rootfs" "$mirror" 2>&1 | tee "$log" \
            | grep --line-buffered -E '^I: (Retrieving Release|Checking component|Retrieving|Extracting|Installing core|Unpacking the base|Configuring the base|Base system)' \
            | awk '/^I: (Retrieving|Extracting) / { n[$2]++; if (n[$2] % 25) next } { print "    " $0; fflush() }' >&2 \
            || ! grep -q '^I: Base system installed successfully' "$log"; then
            tail -n 20 "$log" >&2
            die "debootstrap failed (its log is above, from $log): is $mirror reachable? TICKMESH_DEBIAN_MIRROR=URL chooses another mirror"
        fi
        slim_rootfs "$rootfs" "$mirror"
        mkdir -p "$TOOLS"
        as_root tar --numeric-owner -C "$rootfs" -c . | gzip -1 >"$tarball.partial" \
            || die "could not pack the base rootfs into $tarball.partial"
        mv "$tarball.partial" "$tarball"
        as_root rm -rf --one-file-system "$rootfs"
        note "cached at $tarball ($(du -m "$tarball" | cut -f1) MB)"
    fi
    if [ "$(docker_ image inspect debian:bookworm-slim --format '{{index .Config.Labels "tickmesh.base"}}' 2>/dev/null)" = "$name" ]; then
        note "debian:bookworm-slim already imported from $name"
    else
        docker_ import --change 'CMD ["bash"]' --change "LABEL tickmesh.base=$name" - debian:bookworm-slim \
            <"$tarball" >/dev/null || die "docker import of $tarball failed (delete the file to make it again)"
        note "imported debian:bookworm-slim ($(image_mb debian:bookworm-slim) MB)"
    fi
    step_done
}

# Removes what Debian's slim images leave out (documentation, manuals, translations, apt's
# caches and lists), keeps them out of later installs, and points apt at the suites this
# machine's apt uses.
slim_rootfs() {
    local rootfs=$1 mirror=$2 updates security
    as_root sh -eu -c '
        r=$1
        cat >"$r/etc/dpkg/dpkg.cfg.d/slim" <<EOF
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/locale/*
EOF
        cat >"$r/etc/apt/apt.conf.d/slim" <<EOF
APT::Install-Recommends "false";
Acquire::Languages "none";
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/*.bin || true"; };
EOF
        find "$r/usr/share/doc" -mindepth 1 ! -type d ! -name copyright -delete
        find "$r/usr/share/doc" -mindepth 1 -type d -empty -delete
        rm -rf "$r"/usr/share/man/* "$r"/usr/share/groff/* "$r"/usr/share/info/* \
            "$r"/usr/share/lintian/* "$r"/usr/share/linda/* "$r"/usr/share/locale/* \
            "$r"/var/cache/apt/archives/*.deb "$r"/var/cache/apt/*.bin "$r"/var/lib/apt/lists/* \
            "$r"/var/log/*.log "$r"/var/log/apt/* "$r"/var/cache/debconf/*-old
    ' sh "$rootfs"
    updates=$(apt_source_uri bookworm-updates)
    security=$(apt_source_uri bookworm-security)
    {
        echo "deb $mirror bookworm main"
        [ -z "$updates" ] || echo "deb $updates bookworm-updates main"
        [ -z "$security" ] || echo "deb $security bookworm-security main"
    } | as_root tee "$rootfs/etc/apt/sources.list" >/dev/null
}

image_mb() {
    local bytes
    bytes=$(docker_ image inspect "$1" --format '{{.Size}}')
    echo $(((bytes + 500000) / 1000000))
}

# ---- the image -----------------------------------------------------------------------------

build_image() {
    step "container image: release binary (cargo build --release --locked -p tickmesh)"
    cargo build --release --locked -p tickmesh
    TICKMESH_RELEASE_BIN="$CARGO_TARGET_DIR/release/tickmesh"
    step_done

    step "container image: $IMAGE from deploy/Dockerfile around the release binary"
    # The build context holds only the binary: the Dockerfile's source stages are skipped.
    local context="$RUN_DIR/image-context" log="$RUN_DIR/image-build.log" started
    mkdir -p "$context"
    # Stripped of its symbol table as the Dockerfile's own build stage strips it (install -s),
    # so the image is the one users build in every byte but the binary's origin.
    install -s -m 0755 "$TICKMESH_RELEASE_BIN" "$context/tickmesh"
    started=$(date +%s.%N)
    if ! docker_ build --network host --progress plain -f deploy/Dockerfile \
        --build-arg TICKMESH_BINARY=tickmesh -t "$IMAGE" "$context" >"$log" 2>&1; then
        tail -n 40 "$log" >&2
        die "docker build failed (its log is above, from $log)"
    fi
    if grep -q 'load metadata for docker.io/library/rust' "$log"; then
        die "the build asked for the rust image although TICKMESH_BINARY was set: the source stages must be skipped (see $log)"
    fi
    IMAGE_MB=$(image_mb "$IMAGE")
    note "built in $(elapsed "$started") s ($(grep -c ' CACHED$' "$log") steps cached): $IMAGE is $IMAGE_MB MB"
    [ "$IMAGE_MB" -lt "$IMAGE_MAX_MB" ] || die "$IMAGE is $IMAGE_MB MB, not under the ${IMAGE_MAX_MB} MB deploy/README.md states"
    # What the image says about itself: user, entrypoint, no build tools.
    local user entrypoint
    user=$(docker_ image inspect "$IMAGE" --format '{{.Config.User}}')
    entrypoint=$(docker_ image inspect "$IMAGE" --format '{{json .Config.Entrypoint}}')
    [ "${user%%:*}" = "$IMAGE_UID" ] || die "$IMAGE runs as '$user', not uid $IMAGE_UID (deploy/Dockerfile's USER)"
    [ "$entrypoint" = '["/usr/local/bin/tickmesh"]' ] || die "$IMAGE's entrypoint is $entrypoint, not the tickmesh binary"
    # The store keeps the base, this image and at most 1 GB of build cache: images replaced by
    # this build go.
    docker_ image prune -f >/dev/null
    docker_ builder prune -f --keep-storage 1GB >/dev/null
    local tools
    tools=$(docker_ run --rm --network none --entrypoint /bin/sh "$IMAGE" -c \
        'for t in cc gcc ld make cargo rustc; do command -v $t; done; test -s /etc/ssl/certs/ca-certificates.crt || echo "no CA bundle"' 2>&1 || true)
    [ -z "$tools" ] || die "$IMAGE carries build tools or lacks CA certificates: $tools"
    step_done
}

# Seconds since the date +%s.%N value $1, with one decimal.
elapsed() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }

# ---- checks of a running container ---------------------------------------------------------

# A gRPC-Web health Check over HTTP/1.1 on 127.0.0.1:$1, as a browser makes it: prints the
# trailers frame (grpc-status and grpc-message).
grpc_web_health() {
    printf '\0\0\0\0\0' | curl -sS --http1.1 --max-time 5 \
        -H 'content-type: application/grpc-web+proto' -H 'x-grpc-web: 1' --data-binary @- \
        "http://127.0.0.1:$1/grpc.health.v1.Health/Check" | tr -c '[:print:]' ' '
}

# grpc.health.v1.Health/Check for the overall health ("") of the server on 127.0.0.1:$1, as a
# kubelet gRPC probe asks it, with curl over HTTP/2: prints SERVING, NOT_SERVING, UNKNOWN or
# nothing (no answer within $2 seconds, default 1). The request is the empty HealthCheckRequest
# in gRPC's framing (no compression flag, length 0); SERVING is the message `08 01` (field 1,
# status = 1) behind its 5-byte frame header.
grpc_health() {
    local body
    body=$(printf '\0\0\0\0\0' | curl -sS --http2-prior-knowledge --max-time "${2:-1}" \
        -H 'content-type: application/grpc' -H 'te: trailers' --data-binary @- \
        "http://127.0.0.1:$1/grpc.health.v1.Health/Check" 2>/dev/null | od -An -tx1 | tr -d ' \n')
    case "$body" in
        00000000020801) echo SERVING ;;
        00000000020802) echo NOT_SERVING ;;
        0000000000 | 00000000020800) echo UNKNOWN ;;
        *) ;;
    esac
}

# Shows the end of a container's log, for a failure message.
container_log() {
    printf -- '--- last lines of container %s:\n' "$1" >&2
    docker_ logs --tail 30 "$1" 2>&1 | sed 's/^/    /' >&2 || true
}

# Waits until the container $1's server on port $2 reports SERVING: polls every 0.1 s for at
# most $3 seconds (a startup probe's period times its failure threshold), failing at once if
# the container exits. Sets READY_AFTER to the seconds since the date +%s.%N value $4.
wait_serving() {
    local name=$1 port=$2 budget=$3 since=$4 deadline
    deadline=$(($(date +%s) + budget))
    while [ "$(grpc_health "$port" 1)" != SERVING ]; do
        if [ "$(docker_ inspect -f '{{.State.Running}}' "$name" 2>/dev/null)" != true ]; then
            container_log "$name"
            die "container $name exited before serving health (exit code $(docker_ inspect -f '{{.State.ExitCode}}' "$name" 2>/dev/null))"
        fi
        if [ "$(date +%s)" -ge "$deadline" ]; then
            container_log "$name"
            die "container $name did not report SERVING on 127.0.0.1:$port within ${budget}s (its startup probe's budget)"
        fi
        sleep 0.1
    done
    READY_AFTER=$(elapsed "$since")
}

# Every process of container $1 runs as IMAGE_UID, and its root filesystem is read-only.
check_uid_and_read_only() {
    local name=$1 uids out
    uids=$(docker_ top "$name" -o pid,uid | awk 'NR > 1 { print $2 }' | sort -u | tr '\n' ' ')
    [ "$uids" = "$IMAGE_UID " ] || die "container $name runs processes as uid(s) $uids, not only $IMAGE_UID"
    # The options of the mount at / as the container's processes see it.
    out=$(docker_ exec "$name" cat /proc/self/mountinfo | awk '$5 == "/" { print $6 }')
    [[ ",$out," == *,ro,* ]] || die "container $name: its root filesystem is mounted '$out', not read-only"
}

# `docker stop -t GRACE` (SIGTERM, then SIGKILL after GRACE seconds) on the containers $2...:
# each must exit with code 0 before its grace period ran out.
stop_within_grace() {
    local grace=$1 started name code
    shift
    started=$(date +%s.%N)
    docker_ stop -t "$grace" "$@" >/dev/null
    local took
    took=$(elapsed "$started")
    for name in "$@"; do
        code=$(docker_ inspect -f '{{.State.ExitCode}}' "$name")
        if [ "$code" != 0 ]; then
            container_log "$name"
            die "container $name exited with code $code after SIGTERM (137: killed when the ${grace}s grace period ran out)"
        fi
    done
    awk -v t="$took" -v g="$grace" 'BEGIN { exit !(t < g) }' \
        || die "stopping $* took ${took}s, not within the ${grace}s grace period"
    note "docker stop (SIGTERM): $* exited 0 in ${took}s (grace ${grace}s)"
}

# The StreamTicks client on the host: `tickmesh watch MARKET` against 127.0.0.1:$1 for $2; prints
# the number of events it received.
stream_events() {
    local out
    out=$("$TICKMESH_RELEASE_BIN" watch BTC --for "$2" --server "http://127.0.0.1:$1" 2>&1) \
        || die "tickmesh watch BTC against 127.0.0.1:$1 failed: $out"
    # The final table: EXCHANGE LAST CHANGE BID ASK EVENTS; sum the last column of its rows.
    awk '/^EXCHANGE/ { total = 0; table = 1; next } table && NF >= 6 && $NF ~ /^[0-9]+$/ { total += $NF } END { print total + 0 }' <<<"$out"
}

# Scrapes /metrics on 127.0.0.1:$1 into $2.
scrape_metrics() {
    curl -fsS --max-time 5 "http://127.0.0.1:$1/metrics" >"$2" \
        || die "could not scrape http://127.0.0.1:$1/metrics"
}

# ---- (a) tickmesh up --simulate ------------------------------------------------------------

test_image_up() {
    step "container image: tickmesh up --simulate (read-only, uid $IMAGE_UID, --init)"
    local name=tickmesh-up port metrics_port started events
    port=$(free_port)
    metrics_port=$(free_port)
    started=$(date +%s.%N)
    docker_ run -d --name "$name" --init --network host --read-only \
        --tmpfs /tmp --tmpfs /var/lib/tickmesh:uid="$IMAGE_UID",gid="$IMAGE_UID" \
        --cap-drop ALL --security-opt no-new-privileges \
        --env "TICKMESH__SERVER__LISTEN=127.0.0.1:$port" \
        --env "TICKMESH__METRICS__LISTEN=127.0.0.1:$metrics_port" \
        "$IMAGE" up --simulate >/dev/null
    wait_serving "$name" "$port" 30 "$started"
    note "health SERVING ${READY_AFTER}s after docker run"
    IMAGE_START_SECONDS=$READY_AFTER
    check_uid_and_read_only "$name"
    "$TICKMESH_RELEASE_BIN" feeds --server "http://127.0.0.1:$port" >/dev/null \
        || die "tickmesh feeds against the container failed"
    events=$(stream_events "$port" 3s)
    [ "$events" -gt 0 ] || { container_log "$name"; die "StreamTicks from the container gave no BTC event in 3 s"; }
    note "StreamTicks: $events BTC events in 3 s; uid $IMAGE_UID, read-only root filesystem"
    # The web page and its gRPC-Web calls, as a browser reaches them on the gRPC port.
    curl -fsS --max-time 5 "http://127.0.0.1:$port/" | grep -q '/js/app.js' \
        || { container_log "$name"; die "the container did not serve the web page on the grpc port"; }
    grpc_web_health "$port" | grep -q 'grpc-status:0' \
        || { container_log "$name"; die "the container did not answer a grpc-web call over http/1.1"; }
    note "web page and a gRPC-Web call over HTTP/1.1 served on the gRPC port"
    scrape_metrics "$metrics_port" "$RUN_DIR/up.metrics"
    # Every metric the monitoring component queries is served by the image's binary.
    if [ -n "${MONITORING_RENDERING:-}" ]; then
        "$DEPLOY_VENV/bin/python" deploy/check.py --exposition "$RUN_DIR/up.metrics" \
            "monitoring against the container's /metrics" "$MONITORING_RENDERING" >/dev/null \
            || die "a metric the monitoring component queries is missing from the container's /metrics (above)"
        note "every metric the alerts and the dashboard query is in the container's /metrics"
    fi
    stop_within_grace 30 "$name"
    step_done
}

# ---- (b) the four services as deploy/k8s/base runs them ------------------------------------

create_image_database() {
    local admin="${TICKMESH_TEST_DATABASE_URL:?the postgresql step sets TICKMESH_TEST_DATABASE_URL}"
    IMAGE_DATABASE="tickmesh_image_$$"
    psql "$admin" -qc "drop database if exists $IMAGE_DATABASE" >/dev/null 2>&1 || true
    psql "$admin" -qc "create database $IMAGE_DATABASE" >/dev/null \
        || die "could not create the database $IMAGE_DATABASE on $admin"
    IMAGE_DATABASE_URL="${admin%/*}/$IMAGE_DATABASE"
}

drop_image_database() {
    psql "$TICKMESH_TEST_DATABASE_URL" -qc "drop database if exists $IMAGE_DATABASE with (force)" >/dev/null 2>&1 || true
    IMAGE_DATABASE=""
}

# `docker run` of the workload $1 of the base rendering, with the options pod_to_docker.py
# derives from its manifest and the overrides in the array named by $2.
run_as_manifest() {
    local component=$1 detach=$2
    local -n run_overrides=$3
    local args=() opts=()
    mapfile -d '' args < <("$DEPLOY_VENV/bin/python" scripts/lib/pod_to_docker.py "$BASE_RENDERING" "$component" \
        --secret "database-url=$IMAGE_DATABASE_URL" --secret "redis-url=$TICKMESH_TEST_REDIS_URL" \
        --secret "api-token=$IMAGE_API_TOKEN" --secret "kafka-options=$IMAGE_KAFKA_OPTIONS" \
        "${run_overrides[@]/#/--set=}" --docker-args) \
        || die "pod_to_docker.py could not translate the $component manifest"
    [ ${#args[@]} -gt 1 ] || die "pod_to_docker.py gave no docker options for $component"
    local i
    for i in "${!args[@]}"; do
        [ "${args[$i]}" = -- ] && break
        opts+=("${args[$i]}")
    done
    if [ "$detach" = detach ]; then
        docker_ run -d --name "tickmesh-$component" --network host "${opts[@]}" "$IMAGE" "${args[@]:i+1}" >/dev/null
    else
        docker_ run --name "tickmesh-$component" --network host "${opts[@]}" "$IMAGE" "${args[@]:i+1}"
    fi
}

test_image_services() {
    step "container image: migrate and the four services as deploy/k8s/base runs them"
    [ -n "${KUSTOMIZE:-}" ] && [ -n "${DEPLOY_VENV:-}" ] || { install_kustomize; install_deploy_venv; }
    BASE_RENDERING="$RUN_DIR/base.yaml"
    "$KUSTOMIZE" build deploy/k8s/base >"$BASE_RENDERING" || die "kustomize could not render deploy/k8s/base"
    create_image_database
    IMAGE_API_TOKEN="image-test-$RANDOM$RANDOM"
    # tansu 0.6 returns nothing for a fetch that starts inside a record batch (see
    # services/tickmesh/tests/support/mesh.rs); real Kafka needs no such setting.
    IMAGE_KAFKA_OPTIONS="batch.num.messages=1"
    local id="image$$" sims upbit bithumb korbit
    # The exchanges: the simulators, from the same image.
    upbit=$(free_port)
    bithumb=$(free_port)
    korbit=$(free_port)
    docker_ run -d --name tickmesh-simulate --network host --read-only --user "$IMAGE_UID" "$IMAGE" \
        simulate --markets BTC,ETH --rate 20 --upbit-port "$upbit" --bithumb-port "$bithumb" \
        --korbit-port "$korbit" >/dev/null
    for port in "$upbit" "$bithumb" "$korbit"; do
        wait_for_port "$port" 20 "the simulators' container"
    done
    # What differs from a cluster on one host: every container shares the host's network, so
    # each listens on ports of its own on loopback (the probes follow them); backends and the
    # subscription Service are found at their test addresses, exchanges at the simulators;
    # the stream, topics and storage group are this run's own on the shared test servers.
    local common=(
        "TICKMESH__BUS__KAFKA_BROKERS=$TICKMESH_TEST_KAFKA_BROKERS"
        "TICKMESH__BUS__STREAM=tickmesh:$id:events"
        "TICKMESH__BUS__TOPIC_PREFIX=$id."
        "TICKMESH__STORAGE__GROUP=storage-$id"
        "TICKMESH__INGESTION__UPBIT__WS_URL=ws://127.0.0.1:$upbit/websocket/v1"
        "TICKMESH__INGESTION__UPBIT__REST_URL=http://127.0.0.1:$upbit"
        "TICKMESH__INGESTION__BITHUMB__WS_URL=ws://127.0.0.1:$bithumb/websocket/v1"
        "TICKMESH__INGESTION__BITHUMB__REST_URL=http://127.0.0.1:$bithumb"
        "TICKMESH__INGESTION__KORBIT__WS_URL=ws://127.0.0.1:$korbit/v2/public"
        "TICKMESH__INGESTION__KORBIT__REST_URL=http://127.0.0.1:$korbit"
    )
    local migrate_overrides=()
    local started
    started=$(date +%s.%N)
    run_as_manifest migrate wait migrate_overrides >"$RUN_DIR/migrate.log" 2>&1 \
        || { cat "$RUN_DIR/migrate.log" >&2; die "the migrate Job's container failed (its log is above)"; }
    note "migrate (the Job's container) applied the schema in $(elapsed "$started") s"

    local service grpc metrics probes names=() ports=()
    declare -A port_of
    for service in subscription storage bridge ingestion; do
        grpc=$(free_port)
        metrics=$(free_port)
        port_of[$service]=$grpc
        local overrides=("${common[@]}"
            "TICKMESH__SERVER__LISTEN=127.0.0.1:$grpc"
            "TICKMESH__METRICS__LISTEN=127.0.0.1:$metrics")
        [ "$service" = ingestion ] \
            && overrides+=("TICKMESH__INGESTION__SUBSCRIPTIONS_URL=http://127.0.0.1:${port_of[subscription]}")
        probes=$("$DEPLOY_VENV/bin/python" scripts/lib/pod_to_docker.py "$BASE_RENDERING" "$service" \
            --port "50051=$grpc" --probes) || die "pod_to_docker.py could not read the $service probes"
        local startup_port startup_period startup_failures liveness_port liveness_timeout
        local readiness_port readiness_timeout grace
        eval "$probes"
        [ "$startup_port" = "$grpc" ] && [ "$liveness_port" = "$grpc" ] && [ "$readiness_port" = "$grpc" ] \
            || die "the $service probes do not probe the gRPC port 50051"
        started=$(date +%s.%N)
        run_as_manifest "$service" detach overrides
        wait_serving "tickmesh-$service" "$grpc" $((startup_period * startup_failures)) "$started"
        note "$service: startup probe passed ${READY_AFTER}s after docker run (budget $((startup_period * startup_failures))s)"
        names+=("tickmesh-$service")
        ports+=("$grpc")
        SERVICE_GRACE=$grace
        SERVICE_PROBE_TIMEOUT=$(( liveness_timeout > readiness_timeout ? liveness_timeout : readiness_timeout ))
    done

    "$TICKMESH_RELEASE_BIN" subs add BTC --server "http://127.0.0.1:${port_of[subscription]}" \
        --token "$IMAGE_API_TOKEN" >/dev/null \
        || { container_log tickmesh-subscription; die "tickmesh subs add BTC against the subscription container failed"; }
    local events
    events=$(stream_events "${port_of[subscription]}" 4s)
    [ "$events" -gt 0 ] || { container_log tickmesh-ingestion; container_log tickmesh-subscription
        die "a StreamTicks client of the subscription container got no BTC event in 4 s"; }
    note "StreamTicks through Redis: $events BTC events in 4 s"

    local trades=0 deadline=$((SECONDS + 60))
    until [ "$trades" -gt 0 ]; do
        if [ "$SECONDS" -ge "$deadline" ]; then
            container_log tickmesh-bridge
            container_log tickmesh-storage
            die "no trade reached PostgreSQL ($IMAGE_DATABASE) within 60 s through Redis, the bridge, Kafka and storage"
        fi
        sleep 0.5
        trades=$(psql "$IMAGE_DATABASE_URL" -Atc 'select count(*) from trades' 2>/dev/null || echo 0)
    done
    note "PostgreSQL: $trades trades stored through the bridge and the broker"

    # Liveness and readiness probes, as the kubelet makes them.
    local i
    for i in "${!names[@]}"; do
        [ "$(grpc_health "${ports[$i]}" "$SERVICE_PROBE_TIMEOUT")" = SERVING ] \
            || { container_log "${names[$i]}"; die "${names[$i]}: liveness/readiness probe failed"; }
        check_uid_and_read_only "${names[$i]}"
    done
    note "liveness and readiness probes pass; every container runs as uid $IMAGE_UID on a read-only root"

    # SIGTERM to all four at once, as when their pods are deleted.
    stop_within_grace "$SERVICE_GRACE" "${names[@]}"
    docker_ rm -f tickmesh-simulate >/dev/null
    drop_image_database
    step_done
}

check_image() {
    local started=$SECONDS
    start_docker_engine
    build_base_image
    build_image
    test_image_up
    test_image_services
    stop_docker_engine
    note "container image checks: $((SECONDS - started)) s in all; $IMAGE is $IMAGE_MB MB and served health ${IMAGE_START_SECONDS}s after docker run"
}
