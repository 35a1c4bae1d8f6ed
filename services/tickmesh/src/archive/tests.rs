//! A stream client resuming from before what retention dropped, over real PostgreSQL: storage's
//! maintenance drops the day partition holding the oldest positioned trades, and a replay
//! through [`StoredEvents`] from before them gets the NOT_RETAINED stretch first, then every
//! kept trade and ticker in position order.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use sea_orm::ConnectionTrait as _;
use tickmesh_bus::{BusError, HistoryPage, Position, StreamHistory};
use tickmesh_domain::{EventKind, Payload, UtcMicros};
use tickmesh_migrations::testing::ScratchPostgres;
use tickmesh_storage::{MaintenanceConfig, Retention};
use tickmesh_subscription::stream::replay::ReplayItem;
use tickmesh_subscription::stream::{
    EventArchive as _, ReplayConfig, ReplayFrom, Replayer, TickFilter,
};

use super::StoredEvents;

/// 2026-12-03T00:00:00Z, µs.
const DEC3: i64 = 1_796_256_000_000_000;
const DAY_US: i64 = 86_400_000_000;

/// A stream that has dropped everything through `trimmed` and holds nothing after it, as a
/// small stream does long after the events a client resumes from.
#[derive(Debug)]
struct TrimmedStream {
    trimmed: Position,
}

#[async_trait]
impl StreamHistory for TrimmedStream {
    async fn read_after(
        &self,
        _stream: &str,
        after: Position,
        _max: usize,
    ) -> Result<HistoryPage, BusError> {
        Ok(HistoryPage {
            entries: Vec::new(),
            trimmed_through: (self.trimmed > after).then_some(self.trimmed),
        })
    }
}

/// The packed position of the first event published `ms_after` milliseconds after `at` (µs).
fn position(at: i64, ms_after: i64) -> i64 {
    (at / 1_000 + ms_after) * 1_000_000
}

#[tokio::test(flavor = "multi_thread")]
async fn a_resume_from_before_a_dropped_partition_gets_not_retained_then_the_kept_events() {
    let scratch = ScratchPostgres::create()
        .await
        .expect("PostgreSQL must be reachable (TICKMESH_TEST_DATABASE_URL)");
    let db = tickmesh_storage::connect(scratch.url()).await.unwrap();
    tickmesh_migrations::migrate(&db).await.unwrap();
    let config = MaintenanceConfig {
        partitions_ahead: Duration::from_secs(3 * 86_400),
        retention: Retention {
            trades: Some(Duration::from_secs(86_400)),
            tickers: None,
            books: None,
        },
        ..MaintenanceConfig::default()
    };
    // Partitions for Dec 3 to Dec 6 (nothing is old enough to expire yet).
    tickmesh_storage::maintain(&db, &config, UtcMicros(DEC3))
        .await
        .unwrap();
    db.execute_unprepared(
        "INSERT INTO markets (id, exchange, market) VALUES (1, 'upbit', 'BTC/KRW')",
    )
    .await
    .unwrap();
    // Three trades on Dec 3, three on Dec 4, and a ticker on Dec 4 between two of them.
    let mut trades = Vec::new();
    for (i, at) in [
        DEC3 + 10,
        DEC3 + 20,
        DEC3 + DAY_US - 30,
        DEC3 + DAY_US + 10,
        DEC3 + DAY_US + 20,
        DEC3 + DAY_US + 5_000_000,
    ]
    .into_iter()
    .enumerate()
    {
        let p = position(at, 150) + 10 * i as i64;
        trades.push((i, p));
        db.execute_unprepared(&format!(
            "INSERT INTO trades (market_id, trade_id, price, size, side, exchange_time_us, \
             received_time_us, position) \
             VALUES (1, {i}, 142000000.50, 0.0010, 'b', {at}, {at} + 150000, {p})"
        ))
        .await
        .unwrap();
    }
    let ticker_at = DEC3 + DAY_US + 15;
    // Published between trades 3 and 4 (the same millisecond, sequence 35).
    let ticker_position = position(ticker_at, 150) + 35;
    db.execute_unprepared(&format!(
        "INSERT INTO tickers (market_id, exchange_time_us, received_time_us, last, position) \
         VALUES (1, {ticker_at}, {ticker_at} + 1, 142000000, {ticker_position})"
    ))
    .await
    .unwrap();

    // A day later the Dec 3 partition of trades has expired: retention drops it whole.
    tickmesh_storage::maintain(&db, &config, UtcMicros(DEC3 + 2 * DAY_US + 1))
        .await
        .unwrap();
    let archive = StoredEvents::new(db.clone());
    let dropped = Position::from_packed(trades[2].1).unwrap();
    assert_eq!(archive.dropped_through().await.unwrap(), Some(dropped));

    // The client last saw a position before every stored event; the stream has long dropped
    // everything the database holds (so the replay need not wait for storage to catch up).
    let from = Position::from_packed(trades[0].1 - 1_000_000).unwrap();
    let stream = TrimmedStream {
        trimmed: Position::from_packed(trades[5].1).unwrap(),
    };
    let replayer = Replayer::new(
        Arc::new(stream),
        "ticks",
        Some(Arc::new(archive)),
        ReplayConfig::default(),
    );
    let filter = TickFilter {
        kinds: BTreeSet::from([EventKind::Trade, EventKind::Ticker]),
        ..TickFilter::all()
    };
    let mut replay = replayer.replay(filter, ReplayFrom::After(from));
    let mut items = Vec::new();
    loop {
        let page = replay.next_page().await.unwrap();
        items.extend(page.items);
        if page.caught_up {
            break;
        }
    }
    let got: Vec<String> = items
        .iter()
        .map(|item| match item {
            ReplayItem::NotRetained { after, before } => {
                format!("not retained after {after:?} before {before:?}")
            }
            ReplayItem::Event(p, e) => match &e.payload {
                Payload::Trade(t) => format!("trade {} at {}", t.trade_id.0, p.packed().unwrap()),
                Payload::Ticker(_) => format!("ticker at {}", p.packed().unwrap()),
                other => format!("unexpected {other:?}"),
            },
        })
        .collect();
    assert_eq!(
        got,
        [
            format!("not retained after {from:?} before {:?}", dropped.next()),
            format!("trade 3 at {}", trades[3].1),
            format!("ticker at {ticker_position}"),
            format!("trade 4 at {}", trades[4].1),
            format!("trade 5 at {}", trades[5].1),
        ]
    );
    db.close().await.unwrap();
}
