//! Time partitions and retention: writes land in the partition of their exchange time (made
//! on demand when missing), replays change nothing across partitions, time-range reads touch
//! only the partitions in range, retention drops exactly the expired partitions (PostgreSQL)
//! or deletes in bounded batches (SQLite), and records what it dropped for replays.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use sea_orm::{
    ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    QueryTrait, Statement,
};
use tickmesh_bus::Position;
use tickmesh_domain::{Exchange, MarketEvent, Side, UtcMicros};
use tickmesh_storage::entity::{of_market, tickers, trades};
use tickmesh_storage::maintenance::{MaintenanceConfig, Retention, partitions, sqlite};
use tickmesh_storage::{MarketStore, Positioned, StoreConfig, dropped_through, maintain};

use common::{TestDb, book, btc, ticker, trade};

/// 2025-01-01T00:00:00Z.
const DAY: i64 = 1_735_689_600_000_000;
const DAY_US: i64 = 86_400_000_000;
const HOUR_US: i64 = 3_600_000_000;

/// A trade at `at` with id `id`, and a position derived from both.
fn positioned_trade(at: i64, id: u64) -> (MarketEvent, Option<Position>) {
    let event = trade(at, id, "100.5", "0.25", Side::Buy);
    let packed = (at / 1000) * 1_000_000 + i64::try_from(id % 1000).unwrap();
    (event, Position::from_packed(packed))
}

async fn write(store: &mut MarketStore, events: &[(MarketEvent, Option<Position>)]) {
    let positioned: Vec<Positioned<'_>> = events
        .iter()
        .map(|(event, position)| Positioned {
            event,
            position: *position,
        })
        .collect();
    store.write_positioned(&positioned).await.unwrap();
}

/// `(partition, count)` of `table`'s rows, by partition name.
async fn rows_by_partition(db: &TestDb, table: &str) -> Vec<(String, i64)> {
    let sql = format!(
        "SELECT tableoid::regclass::text AS p, count(*) AS n FROM {table} GROUP BY 1 ORDER BY 1"
    );
    db.conn
        .query_all(Statement::from_string(DbBackend::Postgres, sql))
        .await
        .unwrap()
        .iter()
        .map(|r| (r.try_get("", "p").unwrap(), r.try_get("", "n").unwrap()))
        .collect()
}

async fn count(db: &TestDb, table: &str) -> i64 {
    let sql = format!("SELECT count(*) AS n FROM {table}");
    let row = db
        .conn
        .query_one(Statement::from_string(db.conn.get_database_backend(), sql))
        .await
        .unwrap()
        .unwrap();
    row.try_get("", "n").unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn writes_across_midnight_land_in_their_days_and_replays_change_nothing() {
    let db = TestDb::postgres().await;
    let mut store = MarketStore::new(db.conn.clone(), StoreConfig::default());
    // No partition exists for 2024-12-31 or 2025-01-01: the write makes them.
    let batch = vec![
        positioned_trade(DAY - 1_000_000, 1),
        positioned_trade(DAY + 1_000_000, 2),
        (ticker(DAY - 1_000_000), None),
        (ticker(DAY + 1_000_000), None),
        (book(DAY - 1_000_000), None),
        (book(DAY + 1_000_000), None),
    ];
    write(&mut store, &batch).await;
    for table in ["trades", "tickers", "orderbook_snapshots"] {
        assert_eq!(
            rows_by_partition(&db, table).await,
            [
                (format!("{table}_p20241231"), 1),
                (format!("{table}_p20250101"), 1)
            ],
            "{table}"
        );
    }
    let candles = "SELECT sum(trade_count) AS n FROM candles_1m";
    let candle_trades = |db: &TestDb| {
        let conn = db.conn.clone();
        async move {
            let row = conn
                .query_one(Statement::from_string(DbBackend::Postgres, candles))
                .await
                .unwrap()
                .unwrap();
            row.try_get::<sea_orm::prelude::Decimal>("", "n").unwrap()
        }
    };
    let before = candle_trades(&db).await;

    // The same batch again, by a writer that knows nothing of it.
    let mut again = MarketStore::new(db.conn.clone(), StoreConfig::default());
    let positioned: Vec<Positioned<'_>> = batch
        .iter()
        .map(|(event, position)| Positioned {
            event,
            position: *position,
        })
        .collect();
    let summary = again.write_positioned(&positioned).await.unwrap();
    assert_eq!(summary.trades_inserted, 0);
    assert_eq!(summary.trades_duplicate, 2);
    assert_eq!(summary.tickers, 0);
    assert_eq!(summary.orderbooks_stored, 0);
    assert_eq!(candle_trades(&db).await, before);
    for table in ["trades", "tickers", "orderbook_snapshots"] {
        assert_eq!(count(&db, table).await, 2, "{table}");
    }
}

/// Retention of trades only, nothing made ahead.
fn trades_kept_for(days: u64) -> MaintenanceConfig {
    MaintenanceConfig {
        partitions_ahead: Duration::ZERO,
        retention: Retention {
            trades: Some(Duration::from_secs(days * 86_400)),
            tickers: None,
            books: None,
        },
        ..MaintenanceConfig::default()
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn retention_drops_exactly_the_expired_partitions_and_marks_them() {
    let db = TestDb::postgres().await;
    let mut store = MarketStore::new(db.conn.clone(), StoreConfig::default());
    let days = [DAY - 2 * DAY_US, DAY - DAY_US, DAY];
    let mut batch = Vec::new();
    for (i, day) in days.iter().enumerate() {
        for j in 0..3u64 {
            let id = 10 * i as u64 + j;
            batch.push(positioned_trade(
                day + 12 * HOUR_US + i64::try_from(j).unwrap(),
                id,
            ));
        }
        batch.push((ticker(day + HOUR_US), None));
    }
    write(&mut store, &batch).await;
    assert_eq!(dropped_through(&db.conn).await.unwrap(), None);

    // One day kept, at 01:00 the day after DAY: the first two days have ended before
    // 2025-01-01T01:00, DAY's partition has not.
    let now = UtcMicros(DAY + DAY_US + HOUR_US);
    let reports = maintain(&db.conn, &trades_kept_for(1), now).await.unwrap();
    let trades_report = &reports[0];
    assert_eq!(
        trades_report.partitions_dropped,
        ["trades_p20241230", "trades_p20241231"]
    );
    assert_eq!(trades_report.rows_dropped, 6);
    // Made up to now: the partition of 2025-01-02.
    assert_eq!(trades_report.partitions_created, ["trades_p20250102"]);
    assert!(reports[1].partitions_dropped.is_empty());
    assert_eq!(
        rows_by_partition(&db, "trades").await,
        [("trades_p20250101".to_owned(), 3)]
    );
    assert_eq!(count(&db, "tickers").await, 3, "tickers are kept forever");
    let names: Vec<String> = partitions::partitions(&db.conn, "trades")
        .await
        .unwrap()
        .into_iter()
        .map(|p| p.name)
        .collect();
    assert_eq!(names, ["trades_p20250101", "trades_p20250102"]);

    // The highest position among the dropped trades (the second day's last).
    let expected = positioned_trade(DAY - DAY_US + 12 * HOUR_US + 2, 12).1;
    let through = dropped_through(&db.conn).await.unwrap();
    assert_eq!(through.and_then(Position::from_packed), expected);

    // Nothing more expires within the same day; the mark stays.
    let again = maintain(&db.conn, &trades_kept_for(1), UtcMicros(now.0 + HOUR_US))
        .await
        .unwrap();
    assert!(again[0].partitions_dropped.is_empty());
    assert_eq!(dropped_through(&db.conn).await.unwrap(), through);
}

#[tokio::test(flavor = "multi_thread")]
async fn range_reads_touch_only_the_partitions_in_range() {
    let db = TestDb::postgres().await;
    let mut store = MarketStore::new(db.conn.clone(), StoreConfig::default());
    let mut batch = Vec::new();
    for (i, day) in [DAY - DAY_US, DAY, DAY + DAY_US].iter().enumerate() {
        batch.push(positioned_trade(day + HOUR_US, i as u64));
        batch.push((ticker(day + HOUR_US), None));
    }
    write(&mut store, &batch).await;
    db.conn.execute_unprepared("ANALYZE").await.unwrap();

    // The history reads' shape: the market through `markets`, a time range, key order.
    let (start, end) = (DAY + HOUR_US, DAY + 2 * HOUR_US);
    let trades_sql = trades::Entity::find()
        .filter(of_market(
            trades::Column::MarketId,
            Exchange::Bithumb,
            btc(),
        ))
        .filter(trades::Column::ExchangeTimeUs.gte(start))
        .filter(trades::Column::ExchangeTimeUs.lt(end))
        .order_by_asc(trades::Column::ExchangeTimeUs)
        .order_by_asc(trades::Column::TradeId)
        .limit(100)
        .build(DbBackend::Postgres)
        .to_string();
    let tickers_sql = tickers::Entity::find()
        .filter(of_market(
            tickers::Column::MarketId,
            Exchange::Bithumb,
            btc(),
        ))
        .filter(tickers::Column::ExchangeTimeUs.gte(start))
        .filter(tickers::Column::ExchangeTimeUs.lt(end))
        .order_by_asc(tickers::Column::ExchangeTimeUs)
        .limit(100)
        .build(DbBackend::Postgres)
        .to_string();
    for (table, sql) in [("trades", trades_sql), ("tickers", tickers_sql)] {
        let plan: Vec<String> = db
            .conn
            .query_all(Statement::from_string(
                DbBackend::Postgres,
                format!("EXPLAIN {sql}"),
            ))
            .await
            .unwrap()
            .iter()
            .map(|r| r.try_get::<String>("", "QUERY PLAN").unwrap())
            .collect();
        let plan = plan.join("\n");
        assert!(plan.contains(&format!("{table}_p20250101")), "{plan}");
        for other in ["p20241231", "p20250102"] {
            assert!(!plan.contains(&format!("{table}_{other}")), "{plan}");
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn sqlite_retention_deletes_in_bounded_batches() {
    let db = TestDb::sqlite().await;
    let mut store = MarketStore::new(db.conn.clone(), StoreConfig::default());
    let old: Vec<_> = (0..120u64)
        .map(|i| positioned_trade(DAY - DAY_US + i64::try_from(i).unwrap() * 1_000_000, i))
        .collect();
    let new: Vec<_> = (0..7u64)
        .map(|i| positioned_trade(DAY + i64::try_from(i).unwrap() * 1_000_000, 1000 + i))
        .collect();
    write(&mut store, &old).await;
    write(&mut store, &new).await;

    let deleted = sqlite::delete_expired(
        &db.conn,
        "trades",
        DAY,
        50,
        Duration::from_millis(1),
        DAY + DAY_US,
    )
    .await
    .unwrap();
    assert_eq!(deleted.rows, 120);
    assert_eq!(deleted.batches, 3, "50, 50 and 20 rows");
    assert_eq!(count(&db, "trades").await, 7);
    let highest = old.iter().filter_map(|(_, p)| *p).max();
    assert_eq!(
        dropped_through(&db.conn)
            .await
            .unwrap()
            .and_then(Position::from_packed),
        highest
    );

    // Through the maintenance round: a day kept at the end of DAY removes DAY - 1d's rows
    // (none left) and keeps DAY's.
    let reports = maintain(&db.conn, &trades_kept_for(1), UtcMicros(DAY + DAY_US))
        .await
        .unwrap();
    assert_eq!(reports[0].rows_dropped, 0);
    let reports = maintain(&db.conn, &trades_kept_for(1), UtcMicros(DAY + 2 * DAY_US))
        .await
        .unwrap();
    assert_eq!(reports[0].rows_dropped, 7);
    assert!(reports[0].partitions_created.is_empty());
    assert_eq!(count(&db, "trades").await, 0);
}
