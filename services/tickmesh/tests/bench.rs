//! `tickmesh bench` as a person runs it, briefly and at a low rate: the run completes, the
//! JSON report has the documented figures, and nothing is lost on either deployment; the
//! history mode, on a tiny history, times every call and every answer is complete. These
//! tests check what the bench counts, never how fast anything was: speed is the bench's own
//! output, not a test's assertion.

// Test helpers may panic: a panic is how a test reports failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Read as _;
use std::process::Command;

use serde_json::Value;

fn bench(args: &[&str]) -> Value {
    bench_for("3s", args)
}

fn bench_for(duration: &str, args: &[&str]) -> Value {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("report.json");
    let output = Command::new(env!("CARGO_BIN_EXE_tickmesh"))
        .arg("bench")
        .args(["--duration", duration, "--warmup", "1s", "--rate", "700"])
        .args(["--work-dir", dir.path().join("work").to_str().unwrap()])
        .args(["--json", json.to_str().unwrap()])
        .args(args)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "bench failed\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );
    assert!(
        stdout.contains("frame -> committed row") && stdout.contains("peak rss MiB"),
        "{stdout}"
    );
    assert!(
        stderr.contains("bench: generating"),
        "no progress shown:\n{stderr}"
    );
    serde_json::from_str(&std::fs::read_to_string(json).unwrap()).unwrap()
}

/// Nothing lost, every figure present, and a process row for the bench and each of `services`.
fn assert_lossless(report: &Value, clients: u64, services: &[&str]) {
    let rows = &report["rows"];
    let generated = rows["trades_generated"].as_u64().unwrap();
    // 700 events/s is 100 trades/s in all; a few seconds must have made hundreds.
    assert!(generated > 200, "{report:#}");
    let stream = &report["stream"];
    for (figure, expected) in [
        (&rows["trades_stored"], generated),
        (&rows["trades_missing"], 0),
        (&stream["clients"], clients),
        (&stream["complete_clients"], clients),
        (&stream["missing"], 0),
    ] {
        assert_eq!(figure.as_u64(), Some(expected), "{report:#}");
    }
    for latency in [&rows["latency"], &stream["latency"]] {
        assert!(latency["samples"].as_u64().unwrap() > 0, "{report:#}");
    }
    assert_eq!(report["problems"], Value::Array(Vec::new()), "{report:#}");
    let processes = report["processes"].as_array().unwrap();
    let names: Vec<&str> = processes
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    for name in services.iter().chain(&["bench (simulators, clients)"]) {
        assert!(names.contains(name), "{names:?}");
    }
    for p in processes {
        assert!(p["peak_rss_mib"].as_f64().unwrap() > 0.0, "{report:#}");
    }
}

#[test]
fn an_embedded_run_loses_nothing_and_reports_every_figure() {
    let report = bench(&["--clients", "3", "--client-filter", "pair"]);
    assert_eq!(report["mode"], "embedded");
    assert_lossless(&report, 3, &["tickmesh"]);
}

#[test]
fn a_distributed_run_loses_nothing_and_reports_each_service() {
    let redis = tickmesh_e2e::redis_url();
    let kafka = tickmesh_e2e::kafka_brokers();
    let database = tickmesh_e2e::database_url();
    let report = bench(&[
        "--mode",
        "distributed",
        "--clients",
        "2",
        "--client-filter",
        "market",
        "--redis-url",
        &redis,
        "--kafka-brokers",
        &kafka,
        // tansu 0.6 returns nothing for a fetch starting inside a record batch.
        "--kafka-options",
        "batch.num.messages=1",
        "--database-url",
        &database,
    ]);
    assert_eq!(report["mode"], "distributed");
    assert_lossless(
        &report,
        2,
        &["storage", "subscription", "bridge", "ingestion"],
    );
}

#[test]
fn a_replicated_run_with_a_kill_and_a_stop_loses_and_repeats_nothing() {
    let redis = tickmesh_e2e::redis_url();
    let kafka = tickmesh_e2e::kafka_brokers();
    let database = tickmesh_e2e::database_url();
    // A stream client would miss the killed replica's tickers and books, which nobody
    // publishes while its lease runs out; the stream's own figures are what this checks.
    let report = bench_for(
        "11s",
        &[
            "--mode",
            "distributed",
            "--markets",
            "16",
            "--clients",
            "0",
            "--ingestion-replicas",
            "3",
            "--kill-ingestion-at",
            "2s",
            "--stop-ingestion-at",
            "8s",
            "--redis-url",
            &redis,
            "--kafka-brokers",
            &kafka,
            "--kafka-options",
            "batch.num.messages=1",
            "--database-url",
            &database,
        ],
    );
    let rows = &report["rows"];
    assert_eq!(rows["trades_missing"].as_u64(), Some(0), "{report:#}");
    assert_eq!(report["problems"], Value::Array(Vec::new()), "{report:#}");
    let failover = &report["failover"];
    assert_eq!(failover["replicas"].as_u64(), Some(3), "{report:#}");
    assert!(
        failover["killed_markets"].as_u64().unwrap() > 0,
        "{report:#}"
    );
    assert!(
        failover["handed_over_markets"].as_u64().unwrap() > 0,
        "{report:#}"
    );
    assert_eq!(
        failover["trades_in_stream"].as_u64(),
        rows["trades_generated"].as_u64(),
        "{report:#}"
    );
    assert_eq!(
        failover["trades_published_twice"].as_u64(),
        Some(0),
        "{report:#}"
    );
    let names = process_names(&report);
    assert!(names.contains(&"ingestion-3"), "{names:?}");
    assert!(
        !names.contains(&"ingestion-1"),
        "a killed replica has no figures: {names:?}"
    );
}

/// The processes whose parent is `pid`.
fn children_of(pid: u32) -> Vec<u32> {
    let mut children = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // `pid (comm) state ppid ...`; the name may hold spaces, so read after its `)`.
        let Some((_, rest)) = stat.rsplit_once(") ") else {
            continue;
        };
        if rest.split(' ').nth(1) == Some(pid.to_string().as_str()) {
            children.push(entry.file_name().to_string_lossy().parse().unwrap());
        }
    }
    children
}

/// Whether `pid` still runs (a zombie waiting to be reaped does not).
fn runs(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| {
            stat.rsplit_once(") ")
                .map(|(_, rest)| !rest.starts_with('Z'))
        })
        .unwrap_or(false)
}

#[test]
fn a_terminated_run_stops_its_services_and_drops_its_database() {
    use std::io::BufRead as _;
    use std::process::Stdio;

    let dir = tempfile::tempdir().unwrap();
    let database = tickmesh_e2e::database_url();
    let mut bench = Command::new(env!("CARGO_BIN_EXE_tickmesh"))
        .arg("bench")
        .args(["--duration", "120s", "--rate", "700", "--clients", "0"])
        .args([
            "--mode",
            "distributed",
            "--redis-url",
            &tickmesh_e2e::redis_url(),
        ])
        .args(["--kafka-brokers", &tickmesh_e2e::kafka_brokers()])
        .args(["--kafka-options", "batch.num.messages=1"])
        .args(["--database-url", &database])
        .args(["--work-dir", dir.path().to_str().unwrap()])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = std::io::BufReader::new(bench.stderr.take().unwrap());
    let mut said = String::new();
    while !said.contains("bench: generating") {
        assert!(
            stderr.read_line(&mut said).unwrap() > 0,
            "the bench ended before generating:\n{said}"
        );
    }
    let services = children_of(bench.id());
    assert!(services.len() >= 4, "{services:?}");
    let sent = Command::new("kill")
        .args(["-TERM", &bench.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    stderr.read_to_string(&mut said).unwrap();
    let status = bench.wait().unwrap();
    assert!(!status.success(), "{said}");
    assert!(said.contains("interrupted by SIGTERM"), "{said}");
    let left: Vec<u32> = services.into_iter().filter(|&pid| runs(pid)).collect();
    assert!(left.is_empty(), "services outlived the bench: {left:?}");

    let scratch = format!("tickmesh_bench_{}_%", bench.id());
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let databases = runtime.block_on(async {
        use sea_orm::{ConnectionTrait, Statement};
        let db = sea_orm::Database::connect(database.as_str()).await.unwrap();
        db.query_all(Statement::from_sql_and_values(
            db.get_database_backend(),
            "select datname from pg_database where datname like $1",
            [scratch.clone().into()],
        ))
        .await
        .unwrap()
        .len()
    });
    assert_eq!(databases, 0, "the scratch database {scratch} is left");
}

#[test]
fn a_history_run_times_every_call_and_each_answer_holds_what_was_filled() {
    let report = history_run(&[
        "--database-url",
        &tickmesh_e2e::database_url(),
        "--kafka-brokers",
        &tickmesh_e2e::kafka_brokers(),
    ]);
    assert_eq!(report["database"], "postgresql", "{report:#}");
    let names = process_names(&report);
    assert!(names.contains(&"storage"), "{names:?}");
}

/// The names of the processes a report has figures for.
fn process_names(report: &Value) -> Vec<&str> {
    report["processes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect()
}

#[test]
fn a_history_run_without_postgresql_fills_and_serves_a_sqlite_file() {
    let report = history_run(&[]);
    assert_eq!(report["database"], "sqlite", "{report:#}");
    assert_eq!(report["fill"]["connections"], 1, "{report:#}");
    let names = process_names(&report);
    assert!(names.contains(&"up"), "{names:?}");
}

/// Runs a small history bench with `args` added; checks what both stores must show and
/// returns the report. The run's work folder must be empty afterwards but for the log: the
/// bench removes its database or file.
fn history_run(args: &[&str]) -> Value {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("report.json");
    let work = dir.path().join("work");
    let output = Command::new(env!("CARGO_BIN_EXE_tickmesh"))
        .args(["bench", "--mode", "history", "--markets", "1"])
        .args(["--candle-days", "3", "--trade-days", "1"])
        .args(["--trades-per-second", "0.5", "--tickers-per-second", "0.1"])
        .args(["--requests", "3"])
        .args(args)
        .args(["--work-dir", work.to_str().unwrap()])
        .args(["--json", json.to_str().unwrap()])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "bench failed\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );
    assert!(
        stderr.contains("bench: fill: "),
        "no fill progress:\n{stderr}"
    );
    let report: Value = serde_json::from_str(&std::fs::read_to_string(json).unwrap()).unwrap();
    assert_eq!(report["mode"], "history");
    assert_eq!(report["problems"], Value::Array(Vec::new()), "{report:#}");
    // One market on three exchanges: 3 days of minutes, a day of trades every 2 s, tickers
    // every 10 s, books every 10 s over the day.
    let tables = report["fill"]["tables"].as_array().unwrap();
    let rows = |name: &str| {
        tables.iter().find(|t| t["table"] == name).unwrap()["rows"]
            .as_u64()
            .unwrap()
    };
    assert_eq!(rows("candles_1m"), 3 * 3 * 1440, "{report:#}");
    assert_eq!(rows("trades"), 3 * 43_200, "{report:#}");
    assert_eq!(rows("tickers"), 3 * 8_640, "{report:#}");
    assert_eq!(rows("orderbook_snapshots"), 3 * 8_640, "{report:#}");
    // The hours those minutes fall in: 72, or 73 when the run did not start on the hour.
    let hours = report["fill"]["hourly_candles"].as_u64().unwrap();
    assert!([3 * 72, 3 * 73].contains(&hours), "{report:#}");
    assert!(
        report["fill"]["database_bytes"].as_u64().unwrap() > 0,
        "{report:#}"
    );
    let calls = report["calls"].as_array().unwrap();
    assert_eq!(calls.len(), 8, "{report:#}");
    for call in calls {
        assert_eq!(call["latency"]["samples"].as_u64(), Some(3), "{report:#}");
        assert_eq!(call["wrong"].as_u64(), Some(0), "{report:#}");
        assert!(call["rows"].as_u64().unwrap() > 0, "{report:#}");
    }
    let left: Vec<String> = std::fs::read_dir(&work)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| !name.ends_with(".log"))
        .collect();
    assert!(
        left.is_empty(),
        "the bench left {left:?} in its work folder"
    );
    report
}
