//! The storage service loop against the in-process log: events reach the database, garbage
//! reaches the dead-letter topic with its reason, and the batch is acknowledged only after the
//! commit (also when the database fails at first).

// Helpers outside #[test] functions unwrap too: a panic is how a test reports failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use common::{MINUTE, TestDb, book, book_times, btc, ticker, trade};
use prost::Message as _;
use tickmesh_bus::memory::MemoryLog;
use tickmesh_bus::pump::PumpStop;
use tickmesh_bus::{DurableLog, Record};
use tickmesh_domain::{Exchange, MarketEvent, Side};
use tickmesh_proto::codec::encode_event;
use tickmesh_proto::convert::event_to_wire;
use tickmesh_proto::market::v1::market_event;
use tickmesh_proto::routing::{
    ERROR_HEADER, ORDERBOOKS_TOPIC, TICKERS_TOPIC, TRADES_TOPIC, TopicNames,
};
use tickmesh_storage::{
    MarketStore, StorageServiceConfig, StorageStats, StorageStatsSnapshot, StoreConfig, query, run,
};

fn record(event: &MarketEvent) -> Record {
    Record::new(event.partition_key(), encode_event(event))
}

fn config() -> StorageServiceConfig {
    StorageServiceConfig {
        poll_wait: Duration::from_millis(20),
        ..StorageServiceConfig::default()
    }
}

/// The storage loop on `log` and `db` with the test settings: its stats, its shutdown, and
/// its task.
fn start(
    log: &MemoryLog,
    db: &TestDb,
) -> (
    Arc<StorageStats>,
    PumpStop,
    tokio::task::JoinHandle<Result<(), tickmesh_bus::BusError>>,
) {
    let stats = Arc::new(StorageStats::new());
    let shutdown = PumpStop::default();
    let service = tokio::spawn(run(
        Arc::new(log.clone()),
        MarketStore::new(db.conn.clone(), StoreConfig::default()),
        config(),
        Arc::clone(&stats),
        shutdown.clone(),
    ));
    (stats, shutdown, service)
}

/// Waits (up to 10 s) until the stats satisfy `done`.
async fn wait_for(stats: &StorageStats, done: impl Fn(&StorageStatsSnapshot) -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let snapshot = stats.snapshot();
        if done(&snapshot) {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out; stats: {snapshot:?}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Whatever a fresh member of `group` named `consumer` is given.
async fn pending(log: &MemoryLog, topics: &[&str], group: &str, consumer: &str) -> Vec<Record> {
    let mut member = log.consume(topics, group, consumer).await.unwrap();
    member
        .poll(100, Duration::from_millis(50))
        .await
        .unwrap()
        .into_iter()
        .map(|d| d.record)
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn events_reach_the_database_and_garbage_the_dead_letter_topic() {
    events_reach_the_database_and_garbage_the_dlq(TopicNames::default()).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn prefixed_topics_are_read_and_dead_lettered_alike() {
    events_reach_the_database_and_garbage_the_dlq(TopicNames::with_prefix("staging.")).await;
}

async fn events_reach_the_database_and_garbage_the_dlq(topics: TopicNames) {
    let db = TestDb::sqlite().await;
    let log = MemoryLog::new(1_000);
    let too_big = u64::try_from(i64::MAX).unwrap() + 1;
    log.append(
        &topics.trades,
        &[
            record(&trade(
                MINUTE + 1_000,
                1,
                "1.16539E8",
                "7.9276E-4",
                Side::Sell,
            )),
            Record::new("bithumb:BTC/KRW", Bytes::from_static(b"\xff\xff garbage")),
            record(&trade(MINUTE + 2_000, too_big, "1", "1", Side::Buy)),
            record(&trade(MINUTE + 3_000, 2, "116540000", "0.5", Side::Buy)),
        ],
    )
    .await
    .unwrap();
    log.append(&topics.tickers, &[record(&ticker(MINUTE + 4_000))])
        .await
        .unwrap();
    log.append(&topics.orderbooks, &[record(&book(MINUTE + 5_000))])
        .await
        .unwrap();

    let stats = Arc::new(StorageStats::new());
    let shutdown = PumpStop::default();
    let service = tokio::spawn(run(
        Arc::new(log.clone()),
        MarketStore::new(db.conn.clone(), StoreConfig::default()),
        StorageServiceConfig {
            topics: topics.clone(),
            ..config()
        },
        Arc::clone(&stats),
        shutdown.clone(),
    ));
    wait_for(&stats, |s| s.events_written == 4 && s.dlq == 2).await;
    // The batch in hand is finished (acknowledged) before `run` returns.
    shutdown.now.cancel();
    service.await.unwrap().unwrap();

    let snapshot = stats.snapshot();
    assert_eq!(snapshot.trades_inserted, 2);
    assert_eq!(snapshot.db_errors, 0);
    assert!(snapshot.last_commit.is_some());
    let trades = query::trades(&db.conn, Exchange::Bithumb, btc())
        .await
        .unwrap();
    assert_eq!(trades.len(), 2);
    assert_eq!(trades[0].data.size.to_string(), "0.00079276");
    assert_eq!(
        query::tickers(&db.conn, Exchange::Bithumb, btc())
            .await
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        query::orderbooks(&db.conn, Exchange::Bithumb, btc())
            .await
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        query::candles_1m(&db.conn, Exchange::Bithumb, btc())
            .await
            .unwrap()[0]
            .trade_count,
        2
    );

    let dead = pending(&log, &[&topics.dlq], "inspector", "inspector").await;
    assert_eq!(dead.len(), 2);
    assert_eq!(dead[0].payload, Bytes::from_static(b"\xff\xff garbage"));
    assert_eq!(dead[0].key, "bithumb:BTC/KRW");
    let reason = |r: &Record| String::from_utf8(r.header(ERROR_HEADER).unwrap().to_vec()).unwrap();
    assert!(
        reason(&dead[0]).starts_with("not a protobuf market event"),
        "{}",
        reason(&dead[0])
    );
    assert!(
        reason(&dead[1]).contains("trade id 9223372036854775808 of bithumb BTC/KRW exceeds"),
        "{}",
        reason(&dead[1])
    );

    // Everything was acknowledged: the same member after a restart, and another member of
    // the group, get nothing.
    let topics = [TRADES_TOPIC, TICKERS_TOPIC, ORDERBOOKS_TOPIC];
    assert!(
        pending(&log, &topics, "storage", "storage")
            .await
            .is_empty()
    );
    assert!(
        pending(&log, &topics, "storage", "storage-2")
            .await
            .is_empty()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn books_the_throttle_would_drop_are_counted_and_not_stored() {
    let db = TestDb::sqlite().await;
    let log = MemoryLog::new(1_000);
    let topics = TopicNames::default();
    let (stats, shutdown, service) = start(&log, &db);
    log.append(&topics.orderbooks, &[record(&book(MINUTE))])
        .await
        .unwrap();
    wait_for(&stats, |s| s.events_written == 1).await;
    // Committed at MINUTE: the first two are within the 1 s interval, so they are skipped
    // without decoding their levels, which the second could not survive (a full decode
    // dead-letters it).
    let mut broken = event_to_wire(&book(MINUTE + 999_999));
    if let Some(market_event::Payload::OrderBook(b)) = broken.payload.as_mut() {
        b.bids[0].price = "not a number".to_owned();
    }
    let books = [
        record(&book(MINUTE + 500_000)),
        Record::new("bithumb:BTC/KRW", broken.encode_to_vec()),
        record(&book(MINUTE + 1_000_000)),
    ];
    log.append(&topics.orderbooks, &books).await.unwrap();
    wait_for(&stats, |s| s.events_written == 4).await;
    shutdown.now.cancel();
    service.await.unwrap().unwrap();

    assert_eq!(
        book_times(&db, Exchange::Bithumb).await,
        [MINUTE, MINUTE + 1_000_000]
    );
    assert_eq!(stats.snapshot().dlq, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failing_database_is_retried_and_nothing_is_acknowledged_before_the_commit() {
    // No schema yet: every write fails until the migrations run.
    let db = TestDb::sqlite_unmigrated().await;
    let log = MemoryLog::new(1_000);
    log.append(
        TRADES_TOPIC,
        &[record(&trade(MINUTE, 7, "100", "1", Side::Buy))],
    )
    .await
    .unwrap();
    let (stats, shutdown, service) = start(&log, &db);
    wait_for(&stats, |s| s.db_errors >= 2).await;
    assert_eq!(stats.snapshot().batches, 0);

    tickmesh_migrations::migrate(&db.conn).await.unwrap();
    wait_for(&stats, |s| s.batches == 1).await;
    shutdown.now.cancel();
    service.await.unwrap().unwrap();

    assert_eq!(stats.snapshot().trades_inserted, 1);
    assert_eq!(query::trade_ids(&db.conn).await.unwrap().len(), 1);
    let topics = [TRADES_TOPIC, TICKERS_TOPIC, ORDERBOOKS_TOPIC];
    assert!(
        pending(&log, &topics, "storage", "storage")
            .await
            .is_empty()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn shutdown_interrupts_retries_without_acknowledging() {
    let db = TestDb::sqlite_unmigrated().await;
    let log = MemoryLog::new(1_000);
    log.append(
        TRADES_TOPIC,
        &[record(&trade(MINUTE, 7, "100", "1", Side::Buy))],
    )
    .await
    .unwrap();
    let (stats, shutdown, service) = start(&log, &db);
    wait_for(&stats, |s| s.db_errors >= 1).await;
    shutdown.now.cancel();
    tokio::time::timeout(Duration::from_secs(2), service)
        .await
        .expect("run returns promptly on shutdown")
        .unwrap()
        .unwrap();
    // The member that restarts under the same name gets the batch again.
    let topics = [TRADES_TOPIC, TICKERS_TOPIC, ORDERBOOKS_TOPIC];
    assert_eq!(pending(&log, &topics, "storage", "storage").await.len(), 1);
}
