//! Resumable live streams on the distributed mesh: `tickmesh serve` processes over real Redis,
//! the Kafka-protocol broker and PostgreSQL, clients on real HTTP/2.
//!
//! - A client cut off (its connection killed by a proxy) ten times at random points under
//!   10,000 events/s resumes each time from the last cursor it received, alternating between
//!   two subscription replicas; what it received in all equals, event for event and cursor for
//!   cursor, what an uninterrupted client received, and its trades have no gap and no repeat
//!   by trade id.
//! - A `start_time` an hour back, over simulators whose clocks start an hour back and run
//!   fast, replays exactly the trades PostgreSQL stored for that hour (most of them older than
//!   the small stream holds), then goes on live with no gap and no repeat at the seam.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use support::mesh::Mesh;
use support::proxy::Proxy;
use tickmesh_proto::market::v1 as market;
use tickmesh_proto::stream::v1::stream_ticks_response::Item;
use tickmesh_proto::stream::v1::tick_stream_service_client::TickStreamServiceClient;
use tickmesh_proto::stream::v1::{StreamTicksRequest, StreamTicksResponse};
use tokio_util::sync::CancellationToken;
use tonic::transport::Channel;

/// Events per trade the simulators send (a ticker with most trades, books between).
const EVENTS_PER_TRADE: f64 = 7.0 / 3.0;

async fn client(addr: &str) -> TickStreamServiceClient<Channel> {
    let channel = Channel::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect()
        .await
        .unwrap();
    TickStreamServiceClient::new(channel).max_decoding_message_size(4 << 20)
}

/// Reads `request` from `addr` into the shared list until `stop`.
fn collect(
    addr: String,
    request: StreamTicksRequest,
    stop: CancellationToken,
) -> (
    Arc<Mutex<Vec<StreamTicksResponse>>>,
    tokio::task::JoinHandle<()>,
) {
    let got = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&got);
    let task = tokio::spawn(async move {
        let mut stream = client(&addr)
            .await
            .stream_ticks(request)
            .await
            .unwrap()
            .into_inner();
        loop {
            tokio::select! {
                () = stop.cancelled() => return,
                message = stream.message() => match message {
                    Ok(Some(r)) => sink.lock().unwrap().push(r),
                    other => panic!("the uninterrupted stream ended: {other:?}"),
                },
            }
        }
    });
    (got, task)
}

/// A small xorshift generator, seeded from the clock and printed, so a failing run's cut
/// points can be replayed.
struct Rng(u64);

impl Rng {
    fn from_clock() -> Rng {
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos() as u64
            | 1;
        eprintln!("cut points seeded with {seed}");
        Rng(seed)
    }

    fn millis(&mut self, from: u64, to: u64) -> Duration {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        Duration::from_millis(from + self.0 % (to - from))
    }
}

fn event(r: &StreamTicksResponse) -> &market::MarketEvent {
    match &r.item {
        Some(Item::Event(e)) => e,
        other => panic!(
            "a client with room to spare got a marker: {other:?} (cursor {})",
            r.cursor
        ),
    }
}

/// Per (exchange, market), the trade ids in the order received.
fn trade_ids(items: &[StreamTicksResponse]) -> BTreeMap<(i32, String), Vec<u64>> {
    let mut ids: BTreeMap<(i32, String), Vec<u64>> = BTreeMap::new();
    for r in items {
        let e = event(r);
        if let Some(market::market_event::Payload::Trade(t)) = &e.payload {
            let m = e.market.as_ref().unwrap();
            ids.entry((e.exchange, format!("{}/{}", m.base, m.quote)))
                .or_default()
                .push(t.trade_id);
        }
    }
    ids
}

/// Trade ids of one market never repeat and never skip one the simulator emitted between
/// the first and last received.
fn assert_trades_have_no_gap_or_repeat(
    items: &[StreamTicksResponse],
    emitted: &[(String, String, i64)],
) {
    for ((exchange, market_name), ids) in trade_ids(items) {
        assert!(
            ids.windows(2).all(|w| w[0] < w[1]),
            "{exchange} {market_name}: trade ids repeat or go back"
        );
        let name = market::Exchange::try_from(exchange).unwrap().as_str_name()["EXCHANGE_".len()..]
            .to_ascii_lowercase();
        let (first, last) = (ids[0] as i64, *ids.last().unwrap() as i64);
        let want: Vec<u64> = emitted
            .iter()
            .filter(|(e, m, id)| *e == name && *m == market_name && (first..=last).contains(id))
            .map(|(_, _, id)| *id as u64)
            .collect();
        assert_eq!(
            ids, want,
            "{name} {market_name}: trades missing between {first} and {last}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_client_cut_off_ten_times_under_load_receives_what_an_uninterrupted_one_did() {
    let markets = ["BTC", "ETH", "XRP", "SOL", "ADA", "DOGE"];
    let trades_per_exchange = 10_000.0 / EVENTS_PER_TRADE / 3.0;
    let mesh = Mesh::with_markets("resumecuts", trades_per_exchange, &markets).await;
    // Room enough that neither client loses anything to a busy machine.
    let room = [
        (
            "TICKMESH__SUBSCRIPTION__STREAM_CLIENT_BUFFER",
            "1000000".to_owned(),
        ),
        (
            "TICKMESH__SUBSCRIPTION__STREAM_HUB_BUFFER",
            "1000000".to_owned(),
        ),
    ];
    let subscription = mesh.serve("subscription", &room);
    // A second replica: every other resume goes to it, with a cursor the first one gave.
    let replica = mesh.serve("subscription", &room);
    let ingestion = mesh.serve("ingestion", &[]);
    mesh.sims.wait_connected().await;
    mesh.sims.resume();
    tokio::time::sleep(Duration::from_secs(1)).await;

    let stop = CancellationToken::new();
    let (reference, reader) = collect(
        subscription.grpc.clone(),
        StreamTicksRequest::default(),
        stop.clone(),
    );
    tokio::time::sleep(Duration::from_millis(200)).await;

    let started = std::time::Instant::now();
    let proxies = [
        Proxy::start(subscription.grpc.parse().unwrap()).await,
        Proxy::start(replica.grpc.parse().unwrap()).await,
    ];
    let mut rng = Rng::from_clock();
    let mut got: Vec<StreamTicksResponse> = Vec::new();
    let mut replayed = 0usize;
    for cut in 0..=10 {
        let request = StreamTicksRequest {
            resume_after: got.last().map(|r| r.cursor.clone()).unwrap_or_default(),
            ..StreamTicksRequest::default()
        };
        let proxy = &proxies[cut % 2];
        let mut stream = client(&proxy.addr.to_string())
            .await
            .stream_ticks(request)
            .await
            .unwrap()
            .into_inner();
        let until = tokio::time::Instant::now() + rng.millis(300, 1_500);
        loop {
            tokio::select! {
                () = tokio::time::sleep_until(until) => break,
                message = stream.message() => match message {
                    Ok(Some(r)) => {
                        replayed += usize::from(r.replayed);
                        got.push(r);
                    }
                    other => panic!("stream {cut} ended before its cut: {other:?}"),
                },
            }
        }
        if cut < 10 {
            // Killed mid-stream: whatever was in flight is lost to this connection.
            proxy.cut();
            tokio::time::sleep(rng.millis(20, 400)).await;
            proxy.restore();
        }
    }
    let end = got.last().unwrap().cursor.clone();
    let end_at: tickmesh_bus::Position = end.parse().unwrap();
    support::eventually(
        "the uninterrupted client to pass the end",
        Duration::from_secs(30),
        || async {
            let reference = reference.lock().unwrap();
            let last = reference
                .last()?
                .cursor
                .parse::<tickmesh_bus::Position>()
                .ok()?;
            (last >= end_at).then_some(())
        },
    )
    .await;
    stop.cancel();
    reader.await.unwrap();
    mesh.sims.pause();

    let elapsed = started.elapsed();
    let reference = reference.lock().unwrap().clone();
    let markers = reference
        .iter()
        .filter(|r| !matches!(r.item, Some(Item::Event(_))))
        .count();
    assert_eq!(
        markers,
        0,
        "the uninterrupted client fell behind: {:?}",
        reference
            .iter()
            .find(|r| !matches!(r.item, Some(Item::Event(_))))
    );
    let from = reference
        .iter()
        .position(|r| r.cursor == got[0].cursor)
        .expect("the uninterrupted client saw the first event of the cut one");
    let to = reference.iter().position(|r| r.cursor == end).unwrap();
    let window = &reference[from..=to];
    eprintln!(
        "{} events across 11 connections ({replayed} replayed after a cut), {} from the uninterrupted client, {:.0} events/s over {elapsed:?}",
        got.len(),
        window.len(),
        reference.len() as f64 / elapsed.as_secs_f64()
    );
    assert!(replayed > 0, "no resume replayed anything");
    assert_eq!(
        got.len(),
        window.len(),
        "a resumed client received more or less than the uninterrupted one"
    );
    for (g, w) in got.iter().zip(window) {
        assert_eq!(g.cursor, w.cursor);
        assert_eq!(event(g), event(w), "at cursor {}", g.cursor);
    }
    assert_trades_have_no_gap_or_repeat(&got, &mesh.sims.emitted());
    ingestion.terminate();
    subscription.terminate();
    replica.terminate();
    mesh.finish().await;
}

/// Trades PostgreSQL holds with an exchange time at or after `since_us` and a stream
/// position up to `through`, in position order, as `(exchange, market, trade_id)`.
async fn stored_since(
    db: &sea_orm::DatabaseConnection,
    since_us: i64,
    through: i64,
) -> Vec<(String, String, i64)> {
    use sea_orm::{ConnectionTrait, Statement};
    let rows = db
        .query_all(Statement::from_sql_and_values(
            db.get_database_backend(),
            "select m.exchange, m.market, t.trade_id from trades t \
             join markets m on m.id = t.market_id \
             where t.exchange_time_us >= $1 and t.position <= $2 order by t.position",
            [since_us.into(), through.into()],
        ))
        .await
        .unwrap();
    support::trade_keys(rows)
}

fn trade_key(r: &StreamTicksResponse) -> Option<(String, String, i64)> {
    let e = event(r);
    let Some(market::market_event::Payload::Trade(t)) = &e.payload else {
        return None;
    };
    let m = e.market.as_ref().unwrap();
    let exchange = market::Exchange::try_from(e.exchange)
        .unwrap()
        .as_str_name()["EXCHANGE_".len()..]
        .to_ascii_lowercase();
    Some((
        exchange,
        format!("{}/{}", m.base, m.quote),
        i64::try_from(t.trade_id).unwrap(),
    ))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_start_time_an_hour_back_replays_the_stored_trades_of_that_hour_then_goes_live() {
    // Exchange clocks start an hour back and run 600 times faster: the hour passes in 6 s.
    let clock = tickmesh_simulator::ExchangeClock::warped(Duration::from_secs(3_600), 600);
    let hour_ago_us = clock.now_us();
    // 60 trades/s per market: each trade brings its ticker and every third a book, so six
    // markets put ~840 entries/s on the stream and 3,000 entries hold ~3.6 s. A slower rate
    // would not fill the replay; a faster one leaves the bridge no room for a pause before
    // the stream drops entries it has not read (they would be lost, not replayed).
    let sims = support::sims::Sims::start_with_clock(&["BTC", "ETH"], 60.0, clock).await;
    let mesh = Mesh::with_sims("resumestart", sims).await;
    // A stream this short holds a few seconds: most of the hour must come from PostgreSQL.
    let overrides = [
        ("TICKMESH__BUS__STREAM_MAXLEN", "3000".to_owned()),
        ("TICKMESH__INGESTION__MAX_CLOCK_SKEW", "2h".to_owned()),
    ];
    let subscription = mesh.serve("subscription", &overrides);
    let storage = mesh.serve("storage", &overrides);
    let bridge = mesh.serve("bridge", &overrides);
    let ingestion = mesh.serve("ingestion", &overrides);
    mesh.sims.wait_connected().await;
    mesh.sims.resume();
    // The hour, and some live time after it: the replay from half an hour in is ~7 s long.
    tokio::time::sleep(Duration::from_secs(10)).await;

    // Half an hour into the warped hour.
    let since_us = hour_ago_us + 1_800_000_000;
    let request = StreamTicksRequest {
        kinds: vec![market::EventKind::Trade as i32],
        start_time: Some(tickmesh_proto::convert::time_to_wire(
            tickmesh_domain::UtcMicros(since_us),
        )),
        ..StreamTicksRequest::default()
    };
    let mut stream = client(&subscription.grpc)
        .await
        .stream_ticks(request)
        .await
        .unwrap()
        .into_inner();
    let mut got: Vec<StreamTicksResponse> = Vec::new();
    let mut live_until = None;
    let give_up = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let timeout = live_until.unwrap_or(give_up);
        tokio::select! {
            () = tokio::time::sleep_until(timeout) => break,
            message = stream.message() => {
                let r = message.unwrap().expect("the stream ended");
                if !r.replayed && live_until.is_none() {
                    live_until = Some(tokio::time::Instant::now() + Duration::from_secs(2));
                }
                got.push(r);
            }
        }
    }
    let replayed: Vec<_> = got.iter().take_while(|r| r.replayed).collect();
    let live = &got[replayed.len()..];
    assert!(
        !live.is_empty() && live.iter().all(|r| !r.replayed),
        "the replay goes on live, once"
    );
    let seam: tickmesh_bus::Position = replayed.last().unwrap().cursor.parse().unwrap();
    let seam = seam.packed().unwrap();

    // Everything up to the seam is stored by now; compare with what PostgreSQL holds.
    let db = sea_orm::Database::connect(mesh.db.url.as_str())
        .await
        .unwrap();
    let want = support::eventually(
        "storage to hold the replayed stretch",
        Duration::from_secs(30),
        || {
            let db = &db;
            let n = replayed.len();
            async move {
                let stored = stored_since(db, since_us, seam).await;
                (stored.len() >= n).then_some(stored)
            }
        },
    )
    .await;
    let replayed_keys: Vec<_> = replayed.iter().map(|r| trade_key(r).unwrap()).collect();
    eprintln!(
        "{} trades replayed from half an hour back ({} live after), {} stored",
        replayed_keys.len(),
        live.len(),
        want.len()
    );
    // 3,000 entries (up to ~3,100 under approximate trimming) hold at most ~1,330 trades.
    assert!(
        replayed_keys.len() > 1_500,
        "the stream alone could have held these"
    );
    assert_eq!(
        replayed_keys, want,
        "the replay is exactly the stored trades, in stream order"
    );
    let first = replayed.first().unwrap();
    assert!(
        event(first).exchange_time.as_ref().unwrap().seconds * 1_000_000 >= since_us - 1_000_000,
        "the replay starts at the start time"
    );
    // The seam, by trade id per market: nothing missed, nothing twice.
    assert_trades_have_no_gap_or_repeat(&got, &mesh.sims.emitted());

    mesh.sims.pause();
    for p in [ingestion, bridge, storage, subscription] {
        p.terminate();
    }
    mesh.finish().await;
}
