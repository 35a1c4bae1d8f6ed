//! The public gRPC front door of `tickmesh up --simulate` under abuse, from this process over
//! real HTTP/2, with the server's default limits: 10,000 StreamTicks opens that never read, a
//! 4 MiB filter, calls to random method paths, daily candles over a year of stored minutes,
//! and connections that trickle or go silent (closed by the preface deadline and by
//! keepalive pings). Meanwhile a well-behaved client streams one
//! market's trades. It must receive every trade storage kept (or exact lagged counts), the
//! server's peak memory must stay under [`PEAK_RSS_BOUND_MIB`], and the metric series must
//! not grow with the paths called.

// Test helpers may panic: a panic is how a test reports failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::BTreeSet;
use std::time::Duration;

use sea_orm::{ConnectionTrait as _, Database, DatabaseConnection, Statement};
use support::process::Proc;
use support::scrape;
use tickmesh_proto::history::v1 as history;
use tickmesh_proto::market::v1::{EventKind, Exchange};
use tickmesh_proto::stream::v1::StreamTicksRequest;
use tickmesh_proto::stream::v1::stream_ticks_response::Item;
use tickmesh_proto::stream::v1::tick_stream_service_client::TickStreamServiceClient;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tonic::transport::{Channel, Endpoint};

/// The most the server may reach, peak resident memory, through the whole run. It idles near
/// 40 MiB; a stream that is never read costs about 100 KiB (its 1,024-event buffer, and the
/// gRPC and HTTP/2 state and buffers of one stream), so the 4,096 streams the defaults admit
/// take about 400 MiB (420 to 455 MiB peak measured in this test), well within the subscription
/// service's 1 GiB memory limit in the Kubernetes manifests.
const PEAK_RSS_BOUND_MIB: u64 = 600;
/// StreamTicks calls the abuser opens and never reads.
const STREAM_OPENS: usize = 10_000;
/// What the server admits of one method by default (`server.max_calls_per_method`).
const PER_METHOD_DEFAULT: usize = 4096;
/// Streams per abusive connection: the server's default per-connection limit.
const STREAMS_PER_CONNECTION: usize = 200;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_front_door_holds_while_a_well_behaved_client_streams() {
    let data = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", data.path().join("tickmesh.db").display());
    let env = vec![
        ("TICKMESH__DATABASE__URL".to_owned(), url.clone()),
        ("TICKMESH__METRICS__LISTEN".to_owned(), "127.0.0.1:0".into()),
        // Shorter pings than the default, so a silent connection is found within the test;
        // the timeout stays long enough for this busy process to answer in time: opening
        // 10,000 streams keeps both cores of a 2-core machine busy for seconds, and at 8 s a
        // starved abuser's connection was sometimes closed for not answering, freeing its
        // slots mid-count.
        (
            "TICKMESH__SERVER__KEEPALIVE_INTERVAL".to_owned(),
            "2s".into(),
        ),
        (
            "TICKMESH__SERVER__KEEPALIVE_TIMEOUT".to_owned(),
            "15s".into(),
        ),
    ];
    let up = Proc::start("up", &["up", "--simulate", "--simulate-rate", "100"], &env);
    let grpc = format!("http://{}", up.grpc);
    let metrics = up.logged("metrics at")[0]["metrics_addr"]
        .as_str()
        .unwrap()
        .to_owned();

    // The well-behaved client: Upbit BTC/KRW trades, read as they come.
    let (stop_good, stop) = tokio::sync::oneshot::channel();
    let good = tokio::spawn(well_behaved(connect(&grpc).await, stop));
    let db = Database::connect(url.as_str()).await.unwrap();
    let market_id = upbit_btc_market_id(&db).await;
    seed_a_year_of_minutes(&db, market_id).await;

    let slow = trickling_connections(&up.grpc, 50).await;
    let silent = silent_connection(&up.grpc).await;

    let big = big_filter(&grpc).await;
    assert_eq!(big.code(), tonic::Code::ResourceExhausted, "{big:?}");
    assert!(
        big.message().contains("server.max_request_bytes"),
        "{big:?}"
    );

    let series_before = random_paths(&grpc, &metrics, 150).await;
    let series_after = random_paths(&grpc, &metrics, 150).await;
    assert_eq!(series_before, series_after, "random paths grew the series");

    let candles = year_of_daily_candles(&grpc).await;
    assert_eq!(candles.len(), 365, "one candle per day of 2025");
    assert!(candles.iter().all(|c| c.trade_count == 1440));

    // Every StreamTicks slot taken, and thousands more asked for.
    let (held, refused) = open_streams(&grpc).await;
    if held.len() != PER_METHOD_DEFAULT - 1 {
        // More admitted than the limit leaves means admitted calls ended meanwhile, freeing
        // their slots; the server's count of open stream clients says whether it ended them.
        let metrics = metrics.clone();
        let body = tokio::task::spawn_blocking(move || scrape(&metrics))
            .await
            .unwrap();
        let clients: Vec<&str> = body
            .lines()
            .filter(|l| l.starts_with("tickmesh_stream_clients"))
            .collect();
        panic!(
            "{} StreamTicks calls admitted, {} expected (the well-behaved client holds one \
             slot); the server's open stream clients now: {clients:?}",
            held.len(),
            PER_METHOD_DEFAULT - 1
        );
    }
    assert_eq!(refused.len(), STREAM_OPENS - held.len());
    for status in &refused {
        assert_eq!(status.code(), tonic::Code::ResourceExhausted, "{status:?}");
        assert!(
            status.message().contains("server.max_calls_per_method"),
            "{status:?}"
        );
    }

    // A connection that stops answering is closed by the server's pings.
    tokio::time::timeout(Duration::from_secs(45), silent)
        .await
        .expect("a silent connection was still open after 45 s")
        .unwrap();

    // Some time with everything held, for events to pile up behind the readers that never read.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let peak = peak_rss_mib(up.pid());
    eprintln!("peak resident memory of the server: {peak} MiB");
    assert!(
        peak < PEAK_RSS_BOUND_MIB,
        "peak resident memory {peak} MiB, the bound is {PEAK_RSS_BOUND_MIB} MiB"
    );
    drop(held);
    let closed = tokio::time::timeout(Duration::from_secs(60), slow)
        .await
        .expect("the trickling connections were still being checked after 60 s")
        .unwrap();
    assert_eq!(closed, 50, "trickling connections the server closed");

    stop_good.send(()).unwrap();
    let (trades, lagged) = good.await.unwrap();
    check_every_trade_arrived(&grpc, &trades, lagged).await;
    up.terminate();
}

async fn connect(url: &str) -> Channel {
    Endpoint::from_shared(url.to_owned())
        .unwrap()
        .connect()
        .await
        .unwrap()
}

/// A trade the well-behaved client received.
struct ClientTrade {
    id: u64,
    /// Exchange time, µs since the epoch.
    exchange_us: i64,
    /// When ingestion received it, µs since the epoch.
    received_us: i64,
}

fn micros(time: &prost_types::Timestamp) -> i64 {
    time.seconds * 1_000_000 + i64::from(time.nanos / 1000)
}

/// Streams Upbit BTC/KRW trades until `stop`; the trades in arrival order, and the lagged
/// counts summed.
async fn well_behaved(
    channel: Channel,
    mut stop: tokio::sync::oneshot::Receiver<()>,
) -> (Vec<ClientTrade>, u64) {
    let request = StreamTicksRequest {
        exchanges: vec![Exchange::Upbit as i32],
        markets: vec!["KRW-BTC".into()],
        kinds: vec![EventKind::Trade as i32],
        ..Default::default()
    };
    let mut stream = TickStreamServiceClient::new(channel)
        .stream_ticks(request)
        .await
        .unwrap()
        .into_inner();
    let (mut trades, mut lagged) = (Vec::new(), 0);
    loop {
        let item = tokio::select! {
            _ = &mut stop => return (trades, lagged),
            item = stream.message() => item.unwrap().expect("the stream ended"),
        };
        match item.item {
            Some(Item::Event(event)) => {
                let exchange_us = micros(&event.exchange_time.unwrap());
                let received_us = micros(&event.received_time.unwrap());
                let trade = match event.payload {
                    Some(tickmesh_proto::market::v1::market_event::Payload::Trade(t)) => t,
                    other => panic!("a trade stream sent {other:?}"),
                };
                trades.push(ClientTrade {
                    id: trade.trade_id,
                    exchange_us,
                    received_us,
                });
            }
            Some(Item::Lagged(l)) => lagged += l.missed,
            other => panic!("unexpected item {other:?}"),
        }
    }
}

async fn upbit_btc_market_id(db: &DatabaseConnection) -> i64 {
    support::eventually(
        "the markets row of upbit BTC/KRW",
        Duration::from_secs(30),
        || async {
            let row = db
                .query_one(Statement::from_string(
                    db.get_database_backend(),
                    "select id from markets where exchange = 'upbit' and market = 'BTC/KRW'",
                ))
                .await
                .ok()??;
            row.try_get::<i64>("", "id").ok()
        },
    )
    .await
}

/// 2025's 525,600 one-minute candles, one trade each, in one statement.
async fn seed_a_year_of_minutes(db: &DatabaseConnection, market_id: i64) {
    let start = 1_735_689_600_000_000_i64; // 2025-01-01T00:00:00Z in microseconds
    let sql = format!(
        "with recursive m(i) as (select 0 union all select i + 1 from m where i < 525599)
         insert into candles_1m (market_id, open_time_us, open, high, low, close, volume,
             quote_volume, trade_count, first_trade_time_us, first_trade_id,
             last_trade_time_us, last_trade_id)
         select {market_id}, {start} + i * 60000000, '100', '101', '99', '100', '1', '100', 1,
             {start} + i * 60000000, i, {start} + i * 60000000, i from m"
    );
    db.execute_unprepared(&sql).await.unwrap();
}

/// Opens [`STREAM_OPENS`] StreamTicks calls over as many connections as the per-connection
/// limit needs; the held streams (never read) and the refusals.
async fn open_streams(url: &str) -> (Vec<impl Sized + use<>>, Vec<tonic::Status>) {
    let mut tasks = Vec::new();
    for _ in 0..STREAM_OPENS / STREAMS_PER_CONNECTION {
        let channel = connect(url).await;
        tasks.push(tokio::spawn(async move {
            let calls = (0..STREAMS_PER_CONNECTION).map(|_| {
                let mut client = TickStreamServiceClient::new(channel.clone());
                async move {
                    client
                        .stream_ticks(StreamTicksRequest::default())
                        .await
                        .map(tonic::Response::into_inner)
                }
            });
            futures::future::join_all(calls).await
        }));
    }
    let (mut held, mut refused) = (Vec::new(), Vec::new());
    for task in tasks {
        for outcome in task.await.unwrap() {
            match outcome {
                Ok(stream) => held.push(stream),
                Err(status) => refused.push(status),
            }
        }
    }
    (held, refused)
}

/// A StreamTicks request of about 4 MiB of markets; the status it gets.
async fn big_filter(url: &str) -> tonic::Status {
    let request = StreamTicksRequest {
        markets: vec!["KRW-BTC".to_owned(); 4 * 1024 * 1024 / 9],
        ..Default::default()
    };
    TickStreamServiceClient::new(connect(url).await)
        .stream_ticks(request)
        .await
        .map(|_| ())
        .unwrap_err()
}

/// Calls `count` random method paths (each refused as UNIMPLEMENTED); the
/// `tickmesh_rpc_duration_seconds` series exposed afterwards.
async fn random_paths(url: &str, metrics: &str, count: usize) -> BTreeSet<String> {
    let mut grpc = tonic::client::Grpc::new(connect(url).await);
    for _ in 0..count {
        let path = format!(
            "/{}.Scan/{}",
            tickmesh_e2e::unique("p"),
            tickmesh_e2e::unique("m")
        );
        grpc.ready().await.unwrap();
        let status = grpc
            .unary::<(), (), _>(
                tonic::Request::new(()),
                http::uri::PathAndQuery::try_from(path).unwrap(),
                tonic_prost::ProstCodec::default(),
            )
            .await
            .unwrap_err();
        assert_eq!(status.code(), tonic::Code::Unimplemented, "{status:?}");
    }
    let metrics = metrics.to_owned();
    let body = tokio::task::spawn_blocking(move || scrape(&metrics))
        .await
        .unwrap();
    let series: BTreeSet<String> = body
        .lines()
        .filter(|l| l.starts_with("tickmesh_rpc_duration_seconds_count"))
        .filter_map(|l| l.rsplit_once(' ').map(|(series, _)| series.to_owned()))
        .collect();
    for line in &series {
        let method = line.split("method=\"").nth(1).unwrap().split('"').next();
        let method = method.unwrap();
        assert!(
            method == "unknown" || method.starts_with("/tickmesh.") || method.starts_with("/grpc."),
            "{line}"
        );
    }
    series
}

async fn year_of_daily_candles(url: &str) -> Vec<history::Candle> {
    let request = history::ListCandlesRequest {
        exchange: Exchange::Upbit as i32,
        market: "KRW-BTC".into(),
        interval: history::CandleInterval::CandleInterval1d as i32,
        start_time: Some(prost_types::Timestamp {
            seconds: 1_735_689_600,
            nanos: 0,
        }),
        end_time: Some(prost_types::Timestamp {
            seconds: 1_767_225_600, // 2026-01-01
            nanos: 0,
        }),
    };
    history::history_service_client::HistoryServiceClient::new(connect(url).await)
        .list_candles(request)
        .await
        .unwrap()
        .into_inner()
        .candles
}

/// Connections that send the first bytes of the HTTP/2 preface, one a second; the task ends
/// with how many the server closed (`server.preface_timeout`, 10 s, is over before the 16th
/// byte).
async fn trickling_connections(addr: &str, count: usize) -> tokio::task::JoinHandle<usize> {
    let mut sockets = Vec::new();
    for _ in 0..count {
        sockets.push(tokio::net::TcpStream::connect(addr).await.unwrap());
    }
    tokio::spawn(async move {
        for byte in b"PRI * HTTP/2.0\r\n" {
            for socket in &mut sockets {
                let _ = socket.write_all(&[*byte]).await;
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        let mut closed = 0;
        for socket in &mut sockets {
            // The server's own SETTINGS frame comes first; the end follows it, normally at once
            // (the preface timeout passed while trickling); the wait only bounds a busy machine.
            let mut buf = [0u8; 1024];
            let end = tokio::time::timeout(Duration::from_secs(15), async {
                while matches!(socket.read(&mut buf).await, Ok(n) if n > 0) {}
            });
            if end.await.is_ok() {
                closed += 1;
            }
        }
        closed
    })
}

/// An HTTP/2 connection that says hello and then never answers anything (a peer gone without
/// a FIN); the task ends when the server closes it.
async fn silent_connection(addr: &str) -> tokio::task::JoinHandle<()> {
    let mut socket = tokio::net::TcpStream::connect(addr).await.unwrap();
    socket
        .write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00")
        .await
        .unwrap();
    tokio::spawn(async move {
        let mut buf = [0u8; 4096];
        // Reads only to see the end; a silent peer would not even do that, but reading does
        // not answer a ping.
        while matches!(socket.read(&mut buf).await, Ok(n) if n > 0) {}
    })
}

/// The process's peak resident set (VmHWM), in MiB.
fn peak_rss_mib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .unwrap()
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .unwrap();
    kib / 1024
}

/// Every trade storage kept for Upbit BTC/KRW that ingestion received between the client's
/// first and last trade reached the client, or was counted in a lagged marker.
///
/// The window is in ingestion's receive time, not exchange time: at startup the feed recovers
/// the last minute of trades from REST after the first live ones arrived, so the exchange
/// times a client sees are not in order then, and a client that joined between the two would
/// be blamed for live trades published before it joined. Ingestion stamps live frames and
/// recovered trades in one task, in the order it publishes them. Several trades of one frame
/// share a receive time and the client may have joined or stopped in the middle of one, so the
/// first and last receive times it saw are left out.
async fn check_every_trade_arrived(url: &str, received: &[ClientTrade], lagged: u64) {
    let first = received.iter().map(|t| t.received_us).min().unwrap() + 1;
    let last = received.iter().map(|t| t.received_us).max().unwrap() - 1;
    let seen: BTreeSet<u64> = received
        .iter()
        .filter(|t| (first..=last).contains(&t.received_us))
        .map(|t| t.id)
        .collect();
    assert!(seen.len() > 10, "the client saw {} trades", seen.len());
    let ids: BTreeSet<u64> = received.iter().map(|t| t.id).collect();
    assert_eq!(ids.len(), received.len(), "a trade arrived twice");
    let client = history::history_service_client::HistoryServiceClient::new(connect(url).await);
    let stamp = |micros: i64| prost_types::Timestamp {
        seconds: micros.div_euclid(1_000_000),
        nanos: (micros.rem_euclid(1_000_000) * 1000) as i32,
    };
    // Recovered trades are at most `ingestion.startup_backfill` (60 s) older than their
    // receive time; the exchange-time range covers them with room to spare.
    let from = received.iter().map(|t| t.exchange_us).min().unwrap() - 120_000_000;
    let to = received.iter().map(|t| t.exchange_us).max().unwrap() + 1;
    // Storage writes in batches: wait until it has the client's last trade.
    let stored = support::eventually("storage to catch up", Duration::from_secs(30), || {
        let (mut client, seen) = (client.clone(), &seen);
        async move {
            let mut stored = BTreeSet::new();
            let mut token = String::new();
            loop {
                let page = client
                    .list_trades(history::ListTradesRequest {
                        exchange: Exchange::Upbit as i32,
                        market: "KRW-BTC".into(),
                        start_time: Some(stamp(from)),
                        end_time: Some(stamp(to)),
                        page_size: 1000,
                        page_token: token,
                    })
                    .await
                    .ok()?
                    .into_inner();
                stored.extend(page.trades.iter().filter_map(|t| {
                    let received = micros(t.received_time.as_ref()?);
                    (first..=last)
                        .contains(&received)
                        .then_some(t.trade.as_ref()?.trade_id)
                }));
                if page.next_page_token.is_empty() {
                    break;
                }
                token = page.next_page_token;
            }
            seen.is_subset(&stored).then_some(stored)
        }
    })
    .await;
    let missing = stored.len() - seen.len();
    assert_eq!(
        missing as u64, lagged,
        "{missing} stored trades never reached the client, which was told of {lagged}"
    );
}
