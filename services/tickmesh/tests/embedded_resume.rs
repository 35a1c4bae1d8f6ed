//! Resuming in embedded mode: `tickmesh up` keeps a short window of the stream in memory and
//! everything in SQLite; `tickmesh watch --resume` and `--since` replay from both, then go on
//! live, and name the cursor to continue from on exit.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::Duration;

use support::process::Proc;
use support::sims::Sims;
use tickmesh_proto::market::v1 as market;
use tickmesh_proto::stream::v1::StreamTicksRequest;
use tickmesh_proto::stream::v1::stream_ticks_response::Item;
use tickmesh_proto::stream::v1::tick_stream_service_client::TickStreamServiceClient;

/// `tickmesh watch` against `server`, as NDJSON lines and its standard error.
async fn watch(server: &str, args: &[&str]) -> (Vec<serde_json::Value>, String) {
    let mut all = vec!["watch"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["-o", "ndjson"]);
    let owned: Vec<String> = all.iter().map(|a| (*a).to_owned()).collect();
    let server = server.to_owned();
    let (code, stdout, stderr) = tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = owned.iter().map(String::as_str).collect();
        support::cli::run(&server, &args, &[])
    })
    .await
    .unwrap();
    assert_eq!(code, 0, "watch failed: {stderr}");
    let lines = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    (lines, stderr)
}

#[tokio::test(flavor = "multi_thread")]
async fn watch_resumes_from_the_in_process_stream_and_sqlite_in_embedded_mode() {
    let sims = Sims::start(&["BTC", "ETH"], 60.0).await;
    let data = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", data.path().join("tickmesh.db").display());
    let mut env = sims.ingestion_env();
    env.push(("TICKMESH__DATABASE__URL".to_owned(), url));
    // A window of a few hundred events: a resume from seconds back reaches into SQLite.
    env.push(("TICKMESH__BUS__MEMORY_REPLAY".to_owned(), "300".to_owned()));
    let up = Proc::start("up", &["up"], &env);
    sims.wait_connected().await;
    sims.resume();

    // An uninterrupted client of BTC trades, for reference.
    let mut reference = TickStreamServiceClient::connect(format!("http://{}", up.grpc))
        .await
        .unwrap()
        .stream_ticks(StreamTicksRequest {
            markets: vec!["BTC".to_owned()],
            kinds: vec![market::EventKind::Trade as i32],
            ..StreamTicksRequest::default()
        })
        .await
        .unwrap()
        .into_inner();
    let mut seen = Vec::new();
    let until = tokio::time::Instant::now() + Duration::from_secs(4);
    while tokio::time::Instant::now() < until {
        let r = tokio::time::timeout(Duration::from_secs(10), reference.message())
            .await
            .expect("no BTC trade within 10 s")
            .unwrap()
            .unwrap();
        assert!(
            matches!(r.item, Some(Item::Event(_))),
            "the reference fell behind: {r:?}"
        );
        seen.push(r);
    }
    let from = seen[5].cursor.clone();
    let server = format!("http://{}", up.grpc);
    let (lines, stderr) = watch(&server, &["BTC", "--resume", &from, "--for", "2s"]).await;
    let first = &lines[0];
    assert_eq!(
        first["kind"], "gap",
        "order books are not archived: {first}"
    );
    assert_eq!(first["gap_cause"], "not_retained");
    assert_eq!(first["after_cursor"], from.as_str());
    // Trades replayed from SQLite and the in-process stream, then live, are the reference's.
    let trades: Vec<(String, u64)> = lines
        .iter()
        .filter(|l| l["kind"] == "trade")
        .map(|l| {
            (
                l["cursor"].as_str().unwrap().to_owned(),
                l["trade_id"].as_str().unwrap().parse::<u64>().unwrap(),
            )
        })
        .collect();
    let last_trade: tickmesh_bus::Position = trades.last().unwrap().0.parse().unwrap();
    while seen
        .last()
        .unwrap()
        .cursor
        .parse::<tickmesh_bus::Position>()
        .unwrap()
        < last_trade
    {
        seen.push(reference.message().await.unwrap().unwrap());
    }
    let start = seen.iter().position(|r| r.cursor == from).unwrap() + 1;
    let want: Vec<(String, u64)> = seen[start..]
        .iter()
        .map(|r| {
            let Some(Item::Event(e)) = &r.item else {
                unreachable!()
            };
            let Some(market::market_event::Payload::Trade(t)) = &e.payload else {
                panic!("not a trade")
            };
            (r.cursor.clone(), t.trade_id)
        })
        .take(trades.len())
        .collect();
    assert!(trades.len() > 100, "only {} trades", trades.len());
    assert_eq!(
        trades, want,
        "the resumed trades are the uninterrupted client's"
    );
    assert!(lines.iter().any(|l| l["replayed"] == "true"));
    assert!(
        lines.last().unwrap()["replayed"] == "false",
        "it went on live"
    );
    let last = lines.last().unwrap()["cursor"].as_str().unwrap();
    assert!(stderr.contains(&format!("last cursor: {last}")), "{stderr}");

    let (lines, _) = watch(&server, &["ETH", "--since", "1m", "--for", "1s"]).await;
    let events: Vec<_> = lines.iter().filter(|l| l["kind"] == "trade").collect();
    assert_eq!(events[0]["replayed"], "true", "a start time replays first");
    sims.pause();
    up.terminate();
}
