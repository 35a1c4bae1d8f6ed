//! Stream positions kept with trades and tickers, and read back in position order by
//! `archived_events`, on SQLite and PostgreSQL: from the record header through the storage
//! loop, exactly as written, filtered, limited, without rows that have no position, and
//! unchanged by replays.

// Helpers outside #[test] functions unwrap too: a panic is how a test reports failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{MINUTE, TestDb, book, btc, d, ticker, trade};
use tickmesh_bus::memory::MemoryLog;
use tickmesh_bus::pump::PumpStop;
use tickmesh_bus::{DurableLog, POSITION_HEADER, Position, Record};
use tickmesh_domain::{EventKind, Exchange, Market, MarketEvent, Payload, Side, UtcMicros};
use tickmesh_proto::codec::encode_event;
use tickmesh_proto::routing::TopicNames;
use tickmesh_storage::{
    ArchiveQuery, MAX_ARCHIVE_EVENTS, MarketStore, Positioned, StorageServiceConfig, StorageStats,
    StoreConfig, archived_events, query,
};

/// A position in the stream's millisecond range of the test events.
fn at(ms_offset: u64, seq: u64) -> Position {
    Position {
        ms: 1_790_133_480_000 + ms_offset,
        seq,
    }
}

/// The last position there is.
const END: Position = Position {
    ms: u64::MAX,
    seq: u64::MAX,
};

fn on(exchange: Exchange, market: &str, mut event: MarketEvent) -> MarketEvent {
    event.exchange = exchange;
    event.market = Market::parse(market).unwrap();
    event
}

/// Trades and tickers of three markets on two exchanges, each with its position, in position
/// order, and an order book with a position of its own.
fn positioned() -> Vec<(Position, MarketEvent)> {
    vec![
        (
            at(0, 0),
            trade(MINUTE + 1_000, 11, "1.16539E8", "7.9276E-4", Side::Sell),
        ),
        (at(0, 1), ticker(MINUTE + 1_500)),
        (
            at(1, 0),
            on(
                Exchange::Upbit,
                "KRW-BTC",
                trade(MINUTE + 2_000, 21, "116540000", "0.5", Side::Buy),
            ),
        ),
        (
            at(1, 999_999),
            on(
                Exchange::Upbit,
                "KRW-ETH",
                trade(MINUTE + 3_000, 31, "0.00079276", "1E-8", Side::Buy),
            ),
        ),
        (
            at(2, 5),
            on(Exchange::Upbit, "KRW-ETH", ticker(MINUTE + 4_000)),
        ),
        (
            at(3, 0),
            trade(
                MINUTE + 5_000,
                12,
                "95078733694.3792000000000000",
                "1",
                Side::Buy,
            ),
        ),
    ]
}

/// Everything [`positioned`] holds but the book, and rows that must never come back: a
/// trade and a ticker without a position, one whose position does not pack, and a book.
async fn store_all(db: &TestDb) -> Vec<(Position, MarketEvent)> {
    let events = positioned();
    let unpositioned = [
        trade(MINUTE + 6_000, 13, "1", "1", Side::Buy),
        ticker(MINUTE + 6_500),
    ];
    let unpackable = trade(MINUTE + 7_000, 14, "1", "1", Side::Buy);
    let book = book(MINUTE + 8_000);
    let mut batch: Vec<Positioned<'_>> = events
        .iter()
        .map(|(position, event)| Positioned {
            event,
            position: Some(*position),
        })
        .collect();
    batch.extend(unpositioned.iter().map(Positioned::unpositioned));
    batch.push(Positioned {
        event: &unpackable,
        position: Some(at(4, Position::MAX_PACKED_SEQ + 1)),
    });
    batch.push(Positioned {
        event: &book,
        position: Some(at(5, 0)),
    });
    let mut store = MarketStore::new(db.conn.clone(), StoreConfig::default());
    let summary = store.write_positioned(&batch).await.unwrap();
    assert_eq!(summary.trades_inserted, 6);
    assert_eq!(summary.tickers, 3);
    assert_eq!(summary.orderbooks_stored, 1);
    events
}

async fn read(db: &TestDb, query: &ArchiveQuery) -> Vec<(Position, MarketEvent)> {
    archived_events(&db.conn, query).await.unwrap()
}

async fn positioned_events_come_back_exactly_in_order(db: TestDb) {
    let expected = store_all(&db).await;
    let all = read(&db, &ArchiveQuery::between(Position::ZERO, END, 100)).await;
    assert_eq!(all, expected);
    // Equal decimals with equal text: the scale survived.
    for ((_, got), (_, want)) in all.iter().zip(&expected) {
        if let (Payload::Trade(got), Payload::Trade(want)) = (&got.payload, &want.payload) {
            assert_eq!(got.price.to_string(), want.price.to_string());
            assert_eq!(got.size.to_string(), want.size.to_string());
        }
    }
    let Payload::Ticker(stored) = &all[1].1.payload else {
        panic!("{:?}", all[1]);
    };
    assert_eq!(stored.open.unwrap().to_string(), d("0E-8").to_string());
    assert_eq!(stored.high, None);
}

async fn the_range_is_after_through(db: TestDb) {
    let expected = store_all(&db).await;
    let between = |after, through| ArchiveQuery::between(after, through, 100);
    // After is exclusive, through inclusive.
    assert_eq!(
        read(&db, &between(at(0, 1), at(2, 5))).await,
        expected[2..5]
    );
    assert_eq!(
        read(&db, &between(at(0, 0), at(1, 0))).await,
        expected[1..3]
    );
    // A sequence past what packs: after it comes the next millisecond.
    let huge = Position::MAX_PACKED_SEQ + 7;
    assert_eq!(
        read(&db, &between(at(1, 0), at(1, huge))).await,
        expected[3..4]
    );
    assert_eq!(read(&db, &between(at(1, huge), END)).await, expected[4..]);
    assert!(read(&db, &between(at(2, 5), at(2, 5))).await.is_empty());
    assert!(read(&db, &between(at(3, 0), at(0, 0))).await.is_empty());
    assert!(read(&db, &between(at(3, 0), END)).await.is_empty());
}

async fn filters_and_the_limit_apply(db: TestDb) {
    let expected = store_all(&db).await;
    let only = |edit: &dyn Fn(&mut ArchiveQuery)| {
        let mut query = ArchiveQuery::between(Position::ZERO, END, 100);
        edit(&mut query);
        query
    };
    let pick =
        |indexes: &[usize]| -> Vec<_> { indexes.iter().map(|&i| expected[i].clone()).collect() };
    let upbit = only(&|q| q.exchanges = vec![Exchange::Upbit]);
    assert_eq!(read(&db, &upbit).await, pick(&[2, 3, 4]));
    let btc_anywhere = only(&|q| q.markets = vec![btc()]);
    assert_eq!(read(&db, &btc_anywhere).await, pick(&[0, 1, 2, 5]));
    let upbit_btc = only(&|q| {
        q.exchanges = vec![Exchange::Upbit, Exchange::Korbit];
        q.markets = vec![btc()];
    });
    assert_eq!(read(&db, &upbit_btc).await, pick(&[2]));
    let never_stored = only(&|q| q.exchanges = vec![Exchange::Korbit]);
    assert!(read(&db, &never_stored).await.is_empty());

    let trades = only(&|q| q.kinds = vec![EventKind::Trade]);
    assert_eq!(read(&db, &trades).await, pick(&[0, 2, 3, 5]));
    let tickers = only(&|q| q.kinds = vec![EventKind::Ticker, EventKind::OrderBook]);
    assert_eq!(read(&db, &tickers).await, pick(&[1, 4]));
    let books = only(&|q| q.kinds = vec![EventKind::OrderBook]);
    assert!(read(&db, &books).await.is_empty());

    // Exchange time from `since` on, inclusive.
    let since = only(&|q| q.since = Some(UtcMicros(MINUTE + 3_000)));
    assert_eq!(read(&db, &since).await, pick(&[3, 4, 5]));

    // The limit takes the first events by position across both tables.
    let three = ArchiveQuery::between(Position::ZERO, END, 3);
    assert_eq!(read(&db, &three).await, pick(&[0, 1, 2]));
    let after = ArchiveQuery::between(at(0, 0), END, 2);
    assert_eq!(read(&db, &after).await, pick(&[1, 2]));
    assert!(
        read(&db, &ArchiveQuery::between(Position::ZERO, END, 0))
            .await
            .is_empty()
    );
    let unbounded = ArchiveQuery::between(Position::ZERO, END, usize::MAX);
    assert_eq!(read(&db, &unbounded).await.len(), expected.len());
}

async fn replays_keep_rows_and_positions(db: TestDb) {
    let expected = store_all(&db).await;
    // The same batch again, and again with other positions: nothing new, the first position
    // of every row stays.
    store_all_again(&db, |p| p).await;
    store_all_again(&db, |p| Position {
        ms: p.ms + 60_000,
        seq: p.seq,
    })
    .await;
    assert_eq!(
        read(&db, &ArchiveQuery::between(Position::ZERO, END, 100)).await,
        expected
    );
    assert_eq!(
        query::trades(&db.conn, Exchange::Bithumb, btc())
            .await
            .unwrap()
            .len(),
        4
    );
}

async fn no_call_returns_more_than_the_bound(db: TestDb) {
    let count = u64::try_from(MAX_ARCHIVE_EVENTS).unwrap() + 5;
    // One trade a microsecond, three to a stream millisecond.
    let events: Vec<MarketEvent> = (0..count)
        .map(|i| trade(MINUTE + i64::try_from(i).unwrap(), i, "1", "1", Side::Buy))
        .collect();
    let batch: Vec<Positioned<'_>> = events
        .iter()
        .zip(0u64..)
        .map(|(event, i)| Positioned {
            event,
            position: Some(at(i / 3, i % 3)),
        })
        .collect();
    let mut store = MarketStore::new(db.conn.clone(), StoreConfig::default());
    store.write_positioned(&batch).await.unwrap();
    let all = read(&db, &ArchiveQuery::between(Position::ZERO, END, usize::MAX)).await;
    assert_eq!(all.len(), MAX_ARCHIVE_EVENTS);
    assert_eq!(all[0].0, at(0, 0));
    assert!(all.windows(2).all(|w| w[0].0 < w[1].0));
    assert_eq!(
        all[MAX_ARCHIVE_EVENTS - 1].1,
        events[MAX_ARCHIVE_EVENTS - 1]
    );
}

/// Writes [`positioned`] once more with each position moved by `shift`; nothing is new.
async fn store_all_again(db: &TestDb, shift: impl Fn(Position) -> Position) {
    let events = positioned();
    let batch: Vec<Positioned<'_>> = events
        .iter()
        .map(|(position, event)| Positioned {
            event,
            position: Some(shift(*position)),
        })
        .collect();
    let mut store = MarketStore::new(db.conn.clone(), StoreConfig::default());
    let summary = store.write_positioned(&batch).await.unwrap();
    assert_eq!(summary.trades_inserted, 0);
    assert_eq!(summary.tickers, 0);
}

/// A record of `event` as the bridge forwards it, with `position` as its header's text.
fn record(event: &MarketEvent, position: Option<&'static str>) -> Record {
    let record = Record::new(event.partition_key(), encode_event(event));
    match position {
        Some(text) => record.with_header(POSITION_HEADER, text),
        None => record,
    }
}

/// Appends `trades` and `tickers` to a fresh log and runs the storage loop on it until it
/// wrote them all.
async fn deliver(db: &TestDb, trades: &[Record], tickers: &[Record]) {
    let topics = TopicNames::default();
    let log = MemoryLog::new(1_000);
    log.append(&topics.trades, trades).await.unwrap();
    log.append(&topics.tickers, tickers).await.unwrap();
    let events = u64::try_from(trades.len() + tickers.len()).unwrap();
    let stats = Arc::new(StorageStats::new());
    let stop = PumpStop::default();
    let config = StorageServiceConfig {
        poll_wait: Duration::from_millis(20),
        ..StorageServiceConfig::default()
    };
    let service = tokio::spawn(tickmesh_storage::run(
        Arc::new(log.clone()),
        MarketStore::new(db.conn.clone(), StoreConfig::default()),
        config,
        Arc::clone(&stats),
        stop.clone(),
    ));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while stats.snapshot().events_written < events {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{:?}",
            stats.snapshot()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    stop.now.cancel();
    service.await.unwrap().unwrap();
}

async fn positions_travel_in_the_record_header(db: TestDb) {
    let first = trade(MINUTE + 1_000, 1, "1.16539E8", "7.9276E-4", Side::Sell);
    let second = trade(MINUTE + 2_000, 2, "116540000", "0.5", Side::Buy);
    let headerless = trade(MINUTE + 3_000, 3, "1", "1", Side::Buy);
    let garbage = trade(MINUTE + 4_000, 4, "1", "1", Side::Buy);
    let tick = ticker(MINUTE + 1_500);
    let trades = [
        record(&first, Some("1790133480000-0")),
        record(&second, Some("1790133480002-3")),
        record(&headerless, None),
        record(&garbage, Some("17:42")),
    ];
    let tickers = [record(&tick, Some("1790133480001-0"))];
    deliver(&db, &trades, &tickers).await;
    // The same records once more, as a bridge re-sending after a crash would bring them.
    deliver(&db, &trades, &tickers).await;

    let all = read(&db, &ArchiveQuery::between(Position::ZERO, END, 100)).await;
    let expected = vec![(at(0, 0), first), (at(1, 0), tick), (at(2, 3), second)];
    assert_eq!(all, expected);
    assert_eq!(
        query::trades(&db.conn, Exchange::Bithumb, btc())
            .await
            .unwrap()
            .len(),
        4
    );
}

on_both_backends!(positioned_events_come_back_exactly_in_order);
on_both_backends!(the_range_is_after_through);
on_both_backends!(filters_and_the_limit_apply);
on_both_backends!(replays_keep_rows_and_positions);
on_both_backends!(no_call_returns_more_than_the_bound);
on_both_backends!(positions_travel_in_the_record_header);
