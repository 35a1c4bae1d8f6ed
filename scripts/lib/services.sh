# Starting and stopping the services the tests talk to (sourced by test.sh).
# Everything started here is recorded in STARTED_PIDS / STARTED_PG and stopped by stop_services.
# shellcheck shell=bash

STARTED_PIDS=()
STARTED_PG=""

# A private Redis on a free port, so tests never touch a developer's data.
start_redis() {
    step "redis"
    if [ -n "${TICKMESH_TEST_REDIS_URL:-}" ]; then
        note "using TICKMESH_TEST_REDIS_URL=$TICKMESH_TEST_REDIS_URL"
    else
        local port dir
        port=$(free_port)
        dir="$RUN_DIR/redis"
        mkdir -p "$dir"
        redis-server --bind 127.0.0.1 --port "$port" --save "" --appendonly no \
            --dir "$dir" --logfile "$dir/redis.log" --daemonize yes --pidfile "$dir/redis.pid" \
            || die "redis-server did not start; see $dir/redis.log"
        wait_for_port "$port" 10 redis "" "$dir/redis.log"
        STARTED_PIDS+=("$(cat "$dir/redis.pid")")
        export TICKMESH_TEST_REDIS_URL="redis://127.0.0.1:$port"
        note "started on 127.0.0.1:$port"
    fi
    step_done
}

# tansu with in-memory storage on a free port. Tests that restart the broker start their own
# (sqlite storage) through TICKMESH_TANSU_BIN.
start_tansu() {
    step "tansu broker"
    export TICKMESH_TANSU_BIN="$TANSU"
    if [ -n "${TICKMESH_TEST_KAFKA_BROKERS:-}" ]; then
        note "using TICKMESH_TEST_KAFKA_BROKERS=$TICKMESH_TEST_KAFKA_BROKERS"
    else
        local port
        port=$(free_port)
        # tansu itself exports traces when this is set; the tests' broker should not.
        env -u OTEL_EXPORTER_OTLP_ENDPOINT "$TANSU" broker \
            --listener-url "tcp://127.0.0.1:$port" \
            --advertised-listener-url "tcp://127.0.0.1:$port" \
            --storage-engine "memory://tansu/" >"$RUN_DIR/tansu.log" 2>&1 &
        STARTED_PIDS+=("$!")
        wait_for_port "$port" 30 tansu "$!" "$RUN_DIR/tansu.log"
        export TICKMESH_TEST_KAFKA_BROKERS="127.0.0.1:$port"
        note "started on 127.0.0.1:$port (log: $RUN_DIR/tansu.log)"
    fi
    step_done
}

# The machine's PostgreSQL when one answers on 127.0.0.1:5432 with trust or peer access,
# otherwise a private cluster on a free port.
start_postgres() {
    step "postgresql"
    if [ -n "${TICKMESH_TEST_DATABASE_URL:-}" ]; then
        note "using TICKMESH_TEST_DATABASE_URL"
    elif psql -h 127.0.0.1 -p 5432 -U postgres -d postgres -Atqc 'select 1' >/dev/null 2>&1; then
        psql -h 127.0.0.1 -p 5432 -U postgres -d postgres -Atqc \
            "select 1 from pg_database where datname = 'tickmesh_test'" | grep -q 1 \
            || psql -h 127.0.0.1 -p 5432 -U postgres -d postgres -qc 'create database tickmesh_test' >/dev/null
        export TICKMESH_TEST_DATABASE_URL="postgres://postgres@127.0.0.1:5432/tickmesh_test"
        note "using the local server on 127.0.0.1:5432 (database tickmesh_test)"
    else
        local bin port dir run_as=()
        bin=$(dirname "$(command -v initdb 2>/dev/null || ls /usr/lib/postgresql/*/bin/initdb | tail -1)")
        port=$(free_port)
        dir="$RUN_DIR/postgres"
        mkdir -p "$dir"
        # PostgreSQL refuses to run as root.
        if [ "$(id -u)" -eq 0 ]; then
            chown -R postgres "$dir"
            run_as=(runuser -u postgres --)
        fi
        "${run_as[@]}" "$bin/initdb" -D "$dir/data" -U postgres --auth=trust >"$dir/initdb.log" 2>&1 \
            || die "initdb failed; see $dir/initdb.log"
        "${run_as[@]}" "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w \
            -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off" start >/dev/null \
            || die "postgres did not start; see $dir/server.log"
        STARTED_PG="$bin/pg_ctl -D $dir/data"
        [ ${#run_as[@]} -gt 0 ] && STARTED_PG="${run_as[*]} $STARTED_PG"
        psql -h 127.0.0.1 -p "$port" -U postgres -d postgres -qc 'create database tickmesh_test' >/dev/null
        export TICKMESH_TEST_DATABASE_URL="postgres://postgres@127.0.0.1:$port/tickmesh_test"
        note "started a private cluster on 127.0.0.1:$port"
    fi
    step_done
}

stop_services() {
    for pid in "${STARTED_PIDS[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    if [ -n "$STARTED_PG" ]; then
        $STARTED_PG -m fast stop >/dev/null 2>&1 || true
    fi
}
