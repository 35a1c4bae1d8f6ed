//! `/metrics` of `tickmesh up --simulate`: every series `docs/metrics.md` lists is served,
//! and the data plane's counters move.

// Test helpers may panic: a panic is how a test reports failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::{Duration, Instant};

use support::process::Proc;
use support::scrape;

/// The documented metrics: (name, type) from the table in `docs/metrics.md`.
fn documented() -> Vec<(String, String)> {
    let doc = include_str!("../../../docs/metrics.md");
    let rows: Vec<(String, String)> = doc
        .lines()
        .filter(|l| l.starts_with("| `tickmesh_"))
        .map(|l| {
            let cells: Vec<&str> = l.split('|').map(str::trim).collect();
            (cells[1].trim_matches('`').to_owned(), cells[2].to_owned())
        })
        .collect();
    assert!(
        rows.len() > 20,
        "the table in docs/metrics.md was not found"
    );
    rows
}

/// The value of the sample line `series` (name and labels exactly as exposed).
fn value(body: &str, series: &str) -> Option<f64> {
    body.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .map(|v| v.trim().parse().unwrap())
}

/// Whether any sample of `name` is exposed (with or without labels).
fn has_series(body: &str, name: &str) -> bool {
    body.lines().filter(|l| !l.starts_with('#')).any(|l| {
        l.strip_prefix(name)
            .is_some_and(|rest| rest.starts_with([' ', '{']))
    })
}

#[test]
fn up_serves_every_documented_metric() {
    let data = tempfile::tempdir().unwrap();
    let env = [
        (
            "TICKMESH__DATABASE__URL".to_owned(),
            format!("sqlite://{}", data.path().join("tickmesh.db").display()),
        ),
        (
            "TICKMESH__METRICS__LISTEN".to_owned(),
            "127.0.0.1:0".to_owned(),
        ),
    ];
    let up = Proc::start("up", &["up", "--simulate"], &env);
    // One gRPC call, so the RPC latency series exist.
    let feeds = std::process::Command::new(env!("CARGO_BIN_EXE_tickmesh"))
        .args(["feeds", "--server", &format!("http://{}", up.grpc)])
        .output()
        .unwrap();
    assert!(feeds.status.success());
    // The metrics address is logged before the gRPC one the start waited for.
    let logged = up.logged("metrics at");
    let addr = logged
        .first()
        .and_then(|e| e["metrics_addr"].as_str())
        .expect("the metrics address was not logged")
        .to_owned();

    let documented = documented();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let body = scrape(&addr);
        let events = value(&body, "tickmesh_feed_events_total{exchange=\"upbit\"}");
        let inserted = value(&body, "tickmesh_storage_trades_inserted_total");
        if events.is_some_and(|v| v > 0.0) && inserted.is_some_and(|v| v > 0.0) {
            let missing: Vec<&str> = documented
                .iter()
                .filter(|(name, kind)| {
                    let series = if kind == "histogram" {
                        format!("{name}_count")
                    } else {
                        name.clone()
                    };
                    !has_series(&body, &series)
                })
                .map(|(name, _)| name.as_str())
                .collect();
            assert!(
                missing.is_empty(),
                "documented but not served: {missing:?}\n{body}"
            );
            for exchange in ["upbit", "bithumb", "korbit"] {
                let connected = format!("tickmesh_feed_connected{{exchange=\"{exchange}\"}}");
                assert!(value(&body, &connected).is_some(), "{connected}\n{body}");
            }
            assert!(
                body.contains("tickmesh_rpc_duration_seconds_count{method=\"/tickmesh.ingestion.v1.IngestionService/ListFeeds\",code=\"0\"} 1"),
                "{body}"
            );
            assert!(
                value(&body, "tickmesh_publisher_published_total").unwrap() > 0.0,
                "{body}"
            );
            assert!(
                value(&body, "tickmesh_bridge_forwarded_total").unwrap() > 0.0,
                "{body}"
            );
            assert!(
                value(&body, "tickmesh_storage_batch_seconds_count").unwrap() > 0.0,
                "{body}"
            );
            // Nothing undocumented either: every tickmesh family exposed is in the table.
            let names: Vec<&str> = documented.iter().map(|(n, _)| n.as_str()).collect();
            for line in body.lines().filter(|l| l.starts_with("# TYPE tickmesh_")) {
                let family = line.split(' ').nth(2).unwrap();
                assert!(
                    names
                        .iter()
                        .any(|n| n.strip_suffix("_total").unwrap_or(n) == family
                            || *n == family
                            || n.strip_suffix("_info") == Some(family)),
                    "{family} is served but not documented in docs/metrics.md"
                );
            }
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no upbit events or stored trades after 30 s:\n{body}"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    up.terminate();
}
