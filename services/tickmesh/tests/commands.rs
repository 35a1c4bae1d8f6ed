//! `tickmesh migrate` and `tickmesh serve` as a user meets them: what they print, and what they
//! say when something is missing.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::{Command, Output};

fn tickmesh(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tickmesh"))
        .args(args)
        .env_remove("RUST_LOG")
        .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
        .env("TICKMESH__LOG__FILTER", "warn")
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn migrate_applies_the_schema_once_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("m.db").display());
    let first = tickmesh(&["migrate", "--database-url", &url]);
    assert!(first.status.success(), "{}", text(&first.stderr));
    assert_eq!(
        text(&first.stdout).trim(),
        format!("{url}: 13 migration(s) applied; the schema is up to date")
    );
    let again = tickmesh(&["migrate", "--database-url", &url]);
    assert!(again.status.success(), "{}", text(&again.stderr));
    assert!(text(&again.stdout).contains(": 0 migration(s) applied"));
}

#[test]
fn migrate_names_the_database_it_cannot_reach_without_its_password() {
    let out = tickmesh(&[
        "migrate",
        "--database-url",
        "postgres://tickmesh:secret@127.0.0.1:1/tickmesh",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("cannot open the database postgres://tickmesh:***@127.0.0.1:1/tickmesh"),
        "{stderr}"
    );
    assert!(!stderr.contains("secret"), "{stderr}");
}

#[test]
fn serve_says_which_backend_a_separate_process_needs() {
    for (service, missing) in [
        ("ingestion", "bus.redis_url"),
        ("bridge", "bus.redis_url"),
        ("storage", "bus.kafka_brokers"),
    ] {
        let out = tickmesh(&["serve", service, "--listen", "127.0.0.1:0"]);
        assert_eq!(out.status.code(), Some(1), "{service}");
        let stderr = text(&out.stderr);
        assert!(
            stderr.contains(&format!("`tickmesh serve {service}` needs"))
                && stderr.contains(missing),
            "{stderr}"
        );
    }
}

#[test]
fn bad_data_plane_settings_are_reported_with_their_keys() {
    let out = Command::new(env!("CARGO_BIN_EXE_tickmesh"))
        .args(["up", "--listen", "127.0.0.1:0"])
        .env("TICKMESH__INGESTION__OVERFLOW", "drop-some")
        .env("TICKMESH__INGESTION__MARKETS", "BTC,???")
        .env("TICKMESH__BUS__KAFKA_OPTIONS", "acks")
        .env("TICKMESH__INGESTION__MAX_FRAME_BYTES", "100")
        .env("TICKMESH__INGESTION__MAX_CLOCK_SKEW", "soon")
        .env("TICKMESH__INGESTION__PUBLISH_LINGER", "5s")
        .env("TICKMESH__INGESTION__READ_PAUSE", "1s")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    for key in [
        "`ingestion.overflow`",
        "`ingestion.markets`",
        "`bus.kafka_options`",
        "`ingestion.max_frame_bytes`",
        "`ingestion.max_clock_skew`",
        "`ingestion.publish_linger`",
        "`ingestion.read_pause`",
    ] {
        assert!(stderr.contains(key), "{key} missing from: {stderr}");
    }
}
