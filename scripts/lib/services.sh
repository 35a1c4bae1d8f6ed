# Starting and stopping the services the tests talk to (sourced by test.sh).
# Everything started here is recorded in STARTED_PIDS / STARTED_PGS and stopped by stop_services.
# shellcheck shell=bash

STARTED_PIDS=()
STARTED_PGS=()

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
        # A daemonized redis-server writes its pid file only after it listens: wait for it,
        # or the run would fail here (and leave that server running) now and then.
        local _
        for _ in $(seq 1 50); do
            [ -s "$dir/redis.pid" ] && break
            sleep 0.1
        done
        [ -s "$dir/redis.pid" ] \
            || die "redis-server on 127.0.0.1:$port wrote no pid file within 5s; see $dir/redis.log"
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
        local port
        port=$(free_port)
        start_private_postgres "$RUN_DIR/postgres" "$port" "-c listen_addresses=127.0.0.1"
        psql -h 127.0.0.1 -p "$port" -U postgres -d postgres -qc 'create database tickmesh_test' >/dev/null
        export TICKMESH_TEST_DATABASE_URL="postgres://postgres@127.0.0.1:$port/tickmesh_test"
        note "started a private cluster on 127.0.0.1:$port"
    fi
    step_done
}

# Runs a command as the postgres user when we are root (PostgreSQL refuses to run as root).
as_postgres() {
    if [ "$(id -u)" -eq 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

# initdb and start a cluster in $1 on port $2 with the server options $3 (its socket in $1);
# the caller writes pg_hba.conf between the two through $PG_BEFORE_START, if set.
start_private_postgres() {
    local dir=$1 port=$2 options=$3 bin
    bin=$(dirname "$(command -v initdb 2>/dev/null || ls /usr/lib/postgresql/*/bin/initdb | tail -1)")
    mkdir -p "$dir"
    if [ "$(id -u)" -eq 0 ]; then
        chown -R postgres "$dir"
        # The postgres user must reach its directory through the run directory.
        chmod a+x "$(dirname "$dir")"
    fi
    as_postgres "$bin/initdb" -D "$dir/data" -U postgres --auth=trust >"$dir/initdb.log" 2>&1 \
        || die "initdb failed; see $dir/initdb.log"
    if [ -n "${PG_BEFORE_START:-}" ]; then
        "$PG_BEFORE_START" "$dir/data"
    fi
    as_postgres "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w \
        -o "-p $port -k $dir -c fsync=off $options" start >/dev/null \
        || die "postgres did not start; see $dir/server.log"
    STARTED_PGS+=("$bin/pg_ctl -D $dir/data")
}

# pg_hba.conf of the TLS cluster: the socket for setting it up, and over TCP only TLS with a
# password (no hostnossl line, so a plain-text client is refused).
write_tls_hba() {
    printf '%s\n' "local all all trust" \
        "hostssl all all 127.0.0.1/32 scram-sha-256" \
        "hostssl all all ::1/128 scram-sha-256" >"$1/pg_hba.conf"
}

# A private PostgreSQL that speaks only TLS, with password login, for the TLS tests. Its
# certificate names only DNS:localhost, so verify-full through 127.0.0.1 must fail.
# Exports TICKMESH_TEST_TLS_DATABASE_URL (verify-full against the test CA).
start_postgres_tls() {
    step "postgresql with tls (ssl=on, password login)"
    if [ -n "${TICKMESH_TEST_TLS_DATABASE_URL:-}" ]; then
        note "using TICKMESH_TEST_TLS_DATABASE_URL"
        step_done
        return
    fi
    local dir="$RUN_DIR/postgres-tls" port password
    port=$(free_port)
    password="tls-test-$RANDOM$RANDOM"
    mkdir -p "$dir"
    bash scripts/lib/test-certs.sh "$dir/certs" "DNS:localhost" || die "cannot make test certificates"
    [ "$(id -u)" -eq 0 ] && chown -R postgres "$dir"
    PG_BEFORE_START=write_tls_hba start_private_postgres "$dir" "$port" \
        "-c listen_addresses=127.0.0.1 -c ssl=on -c ssl_cert_file=$dir/certs/server.pem -c ssl_key_file=$dir/certs/server.key"
    as_postgres psql -h "$dir" -p "$port" -U postgres -d postgres -qc \
        "create role tickmesh login password '$password'" >/dev/null
    as_postgres psql -h "$dir" -p "$port" -U postgres -d postgres -qc \
        "create database tickmesh_tls owner tickmesh" >/dev/null
    export TICKMESH_TEST_TLS_DATABASE_URL="postgres://tickmesh:$password@localhost:$port/tickmesh_tls?sslmode=verify-full&sslrootcert=$dir/certs/ca.pem"
    note "started on 127.0.0.1:$port (tls only, certificate for localhost)"
    step_done
}

# A second tansu broker for the Kafka TLS and SASL tests. tansu 0.6 checks SASL (SCRAM against
# stored credentials; PLAIN only that a password was sent) but cannot serve TLS, so stunnel
# terminates TLS in front of it and the broker advertises stunnel's port. Its SCRAM users are
# made while it still runs without authentication, on sqlite storage that the restart keeps.
# Exports TICKMESH_TEST_KAFKA_SECURE_BROKERS, _CA, _USERNAME and _PASSWORD.
start_kafka_secure() {
    step "tansu broker with sasl, behind tls (stunnel)"
    if [ -n "${TICKMESH_TEST_KAFKA_SECURE_BROKERS:-}" ]; then
        note "using TICKMESH_TEST_KAFKA_SECURE_BROKERS=$TICKMESH_TEST_KAFKA_SECURE_BROKERS"
        step_done
        return
    fi
    local dir="$RUN_DIR/kafka-secure" setup_port port tls_port password pid mechanism
    setup_port=$(free_port)
    port=$(free_port)
    tls_port=$(free_port)
    password="kafka-test-$RANDOM$RANDOM"
    mkdir -p "$dir"
    bash scripts/lib/test-certs.sh "$dir/certs" || die "cannot make test certificates"
    # tansu takes a sqlite URL's path as relative to its working directory.
    (cd "$dir" && exec env -u OTEL_EXPORTER_OTLP_ENDPOINT "$TANSU" broker \
        --listener-url "tcp://127.0.0.1:$setup_port" --advertised-listener-url "tcp://127.0.0.1:$setup_port" \
        --storage-engine "sqlite://tansu.db" >"$dir/setup.log" 2>&1) &
    pid=$!
    wait_for_port "$setup_port" 30 "tansu (setup)" "$pid" "$dir/setup.log"
    for mechanism in scram256 scram512; do
        "$TANSU" user create --broker "tcp://127.0.0.1:$setup_port" --mechanism "$mechanism" \
            tickmesh "$password" >>"$dir/setup.log" 2>&1 \
            || die "tansu could not create the test user; see $dir/setup.log"
    done
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    (cd "$dir" && exec env -u OTEL_EXPORTER_OTLP_ENDPOINT "$TANSU" broker --authentication \
        --listener-url "tcp://127.0.0.1:$port" --advertised-listener-url "tcp://localhost:$tls_port" \
        --storage-engine "sqlite://tansu.db" >"$dir/tansu.log" 2>&1) &
    STARTED_PIDS+=("$!")
    wait_for_port "$port" 30 "tansu (sasl)" "$!" "$dir/tansu.log"
    printf '%s\n' "foreground = yes" "pid =" "[kafka]" "accept = 127.0.0.1:$tls_port" \
        "connect = 127.0.0.1:$port" "cert = $dir/certs/server.pem" "key = $dir/certs/server.key" \
        >"$dir/stunnel.conf"
    stunnel4 "$dir/stunnel.conf" >"$dir/stunnel.log" 2>&1 &
    STARTED_PIDS+=("$!")
    wait_for_port "$tls_port" 10 stunnel "$!" "$dir/stunnel.log"
    export TICKMESH_TEST_KAFKA_SECURE_BROKERS="localhost:$tls_port"
    export TICKMESH_TEST_KAFKA_SECURE_CA="$dir/certs/ca.pem"
    export TICKMESH_TEST_KAFKA_SECURE_USERNAME=tickmesh
    export TICKMESH_TEST_KAFKA_SECURE_PASSWORD="$password"
    note "tls on localhost:$tls_port (stunnel) to sasl on 127.0.0.1:$port (logs in $dir)"
    step_done
}

stop_services() {
    local pid tries
    for pid in "${STARTED_PIDS[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    # Wait (up to 10 s each) until they are gone: Redis writes its log and removes its pid file
    # on the way out, and the run directory is removed right after this.
    for pid in "${STARTED_PIDS[@]}"; do
        tries=0
        while kill -0 "$pid" 2>/dev/null && [ "$tries" -lt 100 ]; do
            sleep 0.1
            tries=$((tries + 1))
        done
    done
    local pg
    for pg in "${STARTED_PGS[@]}"; do
        # shellcheck disable=SC2086 # the command and its arguments, split on purpose
        as_postgres $pg -m fast stop >/dev/null 2>&1 || true
    done
}
