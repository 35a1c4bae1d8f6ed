//! Credentials never reach what a user sees: every start-up error, config error and log line
//! (at `trace`, so every level counts) of a process given passwords in URLs, typed keys and
//! option strings is searched for them. Each case also checks that the message still says
//! what failed.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::{Command, Output};
use std::time::Duration;

/// The password every case configures somewhere; it must appear nowhere in the output.
const PW: &str = "pw-Sekrit-42";

/// Runs `tickmesh args` with `env` and everything logged, and returns stdout and stderr
/// after checking that neither holds the password (nor `also`, another secret).
fn run(args: &[&str], env: &[(&str, String)], also: &[&str]) -> (Output, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_tickmesh"));
    command
        .args(args)
        .env_remove("RUST_LOG")
        .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
        .env("TICKMESH__LOG__FILTER", "trace")
        .env("TICKMESH__METRICS__LISTEN", "off");
    for (k, v) in env {
        command.env(k, v);
    }
    let out = command.output().unwrap();
    let shown = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    for secret in std::iter::once(PW).chain(also.iter().copied()) {
        assert!(
            !shown.contains(secret),
            "the output shows a password ({secret}):\n{shown}"
        );
    }
    (out, shown)
}

fn fails_saying(args: &[&str], env: &[(&str, String)], also: &[&str], expected: &[&str]) {
    let (out, shown) = run(args, env, also);
    assert_eq!(out.status.code(), Some(1), "{shown}");
    for e in expected {
        assert!(shown.contains(e), "expected {e:?} in:\n{shown}");
    }
}

#[test]
fn an_unreachable_redis_is_named_without_its_password() {
    fails_saying(
        &["serve", "ingestion", "--listen", "127.0.0.1:0"],
        &[
            (
                "TICKMESH__BUS__REDIS_URL",
                format!("redis://tickmesh:{PW}@127.0.0.1:1/0"),
            ),
            ("TICKMESH__INGESTION__MARKETS", "BTC".to_owned()),
        ],
        &[],
        &[
            "cannot connect to redis",
            "redis://tickmesh:***@127.0.0.1:1/0",
        ],
    );
    fails_saying(
        &["serve", "ingestion", "--listen", "127.0.0.1:0"],
        &[
            ("TICKMESH__BUS__REDIS_SENTINELS", "127.0.0.1:1".to_owned()),
            ("TICKMESH__BUS__REDIS_PASSWORD", PW.to_owned()),
            (
                "TICKMESH__BUS__REDIS_SENTINEL_PASSWORD",
                format!("{PW}-sentinel"),
            ),
            ("TICKMESH__INGESTION__MARKETS", "BTC".to_owned()),
        ],
        &[],
        &["no sentinel gave the address of master"],
    );
}

#[test]
fn a_password_redis_refuses_is_not_echoed() {
    // The test Redis has no password: AUTH with one fails.
    let redis = tickmesh_e2e::redis_url();
    let url = redis.replacen("redis://", &format!("redis://:{PW}@"), 1);
    fails_saying(
        &["serve", "ingestion", "--listen", "127.0.0.1:0"],
        &[
            ("TICKMESH__BUS__REDIS_URL", url),
            ("TICKMESH__INGESTION__MARKETS", "BTC".to_owned()),
        ],
        &[],
        &["cannot connect to redis", ":***@"],
    );
}

#[test]
fn bad_kafka_options_and_keys_are_reported_without_their_values() {
    fails_saying(
        &["serve", "storage", "--listen", "127.0.0.1:0"],
        &[
            ("TICKMESH__BUS__KAFKA_BROKERS", "127.0.0.1:1".to_owned()),
            (
                "TICKMESH__BUS__KAFKA_OPTIONS",
                format!("acks,sasl.password={PW}"),
            ),
            ("TICKMESH__BUS__KAFKA_PASSWORD", PW.to_owned()),
            ("TICKMESH__BUS__REDIS_PASSWORD", format!("{PW}-r")),
            (
                "TICKMESH__BUS__REDIS_URL",
                format!("redis://u:{PW}@h:notaport"),
            ),
            (
                "TICKMESH__DATABASE__URL",
                format!("postgres://u:{PW}@db/tm?sslrootcert=/a.pem"),
            ),
            ("TICKMESH__DATABASE__CA", "/nowhere/ca.pem".to_owned()),
        ],
        &[],
        &[
            "`bus.kafka_options`",
            "option 1 is not key=value",
            "sasl.password=***",
            "`bus.kafka_password`",
            "`database.ca`",
        ],
    );
}

#[test]
fn a_toml_syntax_error_does_not_quote_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("tickmesh.toml");
    std::fs::write(
        &file,
        format!("[bus]\nredis_password = \"{PW}\nstream = 1\n"),
    )
    .unwrap();
    fails_saying(
        &[
            "serve",
            "ingestion",
            "--config",
            &file.display().to_string(),
        ],
        &[],
        &[],
        &["is not valid toml", "line 2"],
    );
}

#[test]
fn an_unreachable_database_is_named_without_its_password() {
    let url = format!("postgres://tickmesh:{PW}@127.0.0.1:1/tm?sslmode=require&password={PW}");
    fails_saying(
        &["migrate", "--database-url", &url],
        &[],
        &[],
        &[
            "cannot open the database postgres://tickmesh:***@127.0.0.1:1/tm?sslmode=require&password=***",
        ],
    );
    fails_saying(
        &["serve", "storage", "--listen", "127.0.0.1:0"],
        &[
            ("TICKMESH__DATABASE__URL", url.clone()),
            (
                "TICKMESH__BUS__KAFKA_BROKERS",
                tickmesh_e2e::kafka_brokers(),
            ),
        ],
        &[],
        &["cannot open the database postgres://tickmesh:***@127.0.0.1:1/tm"],
    );
}

#[test]
fn a_wrong_database_password_over_tls_is_refused_without_showing_either() {
    let url = tickmesh_e2e::required_var(
        "TICKMESH_TEST_TLS_DATABASE_URL",
        "a PostgreSQL server with ssl=on",
    );
    let right = url
        .split_once("://")
        .and_then(|(_, rest)| rest.split_once('@'))
        .and_then(|(userinfo, _)| userinfo.split_once(':'))
        .map(|(_, password)| password.to_owned())
        .unwrap();
    let wrong = url.replacen(&format!(":{right}@"), &format!(":{PW}@"), 1);
    fails_saying(
        &["migrate", "--database-url", &wrong],
        &[],
        &[&right],
        &[
            "cannot open the database postgres://tickmesh:***@localhost:",
            "password authentication failed",
        ],
    );
    // With the right one, migrate works over verify-full and prints the URL redacted.
    let (out, shown) = run(&["migrate", "--database-url", &url], &[], &[&right]);
    assert!(out.status.success(), "{shown}");
    assert!(
        shown.contains("postgres://tickmesh:***@localhost:"),
        "{shown}"
    );
}

#[test]
fn a_wrong_kafka_password_is_refused_without_showing_it() {
    let var = |suffix: &str| {
        tickmesh_e2e::required_var(
            &format!("TICKMESH_TEST_KAFKA_SECURE_{suffix}"),
            "a Kafka-protocol broker with SASL behind TLS",
        )
    };
    let (brokers, ca, username, right) =
        (var("BROKERS"), var("CA"), var("USERNAME"), var("PASSWORD"));
    let started = std::time::Instant::now();
    fails_saying(
        &["serve", "storage", "--listen", "127.0.0.1:0"],
        &[
            ("TICKMESH__BUS__KAFKA_BROKERS", brokers),
            (
                "TICKMESH__BUS__KAFKA_SECURITY_PROTOCOL",
                "sasl_ssl".to_owned(),
            ),
            (
                "TICKMESH__BUS__KAFKA_SASL_MECHANISM",
                "SCRAM-SHA-512".to_owned(),
            ),
            ("TICKMESH__BUS__KAFKA_USERNAME", username),
            ("TICKMESH__BUS__KAFKA_PASSWORD", PW.to_owned()),
            ("TICKMESH__BUS__KAFKA_CA", ca),
            ("TICKMESH__DATABASE__URL", "sqlite::memory:".to_owned()),
        ],
        &[&right],
        &["cannot create the kafka topics"],
    );
    assert!(started.elapsed() < Duration::from_secs(120));
}
