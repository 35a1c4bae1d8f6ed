//! SQLite's hourly candles: its triggers mark the hour of every minute written, inserted,
//! updated or deleted as stale, storage computes stale hours from their minutes, and history
//! answers 1h and 1d from the computed hours and the stale hours' minutes, always as the
//! minutes' roll-up does.

use std::time::Duration;

use sea_orm::{ConnectionTrait as _, DbBackend, Statement};
use tickmesh_domain::{Candle, CandleInterval, Exchange, Side};
use tickmesh_storage::maintenance::hours::{HOURS_PER_BATCH, refresh, refresh_batch};
use tickmesh_storage::{MaintenanceStats, MarketStore, StoreConfig};

use super::fixtures::{HOUR, SECOND, reader};
use super::hours::write_out_of_order;
use super::rollup::{minutes_of_trades, rolls_up_as_rust_does};
use crate::common::{MINUTE, TestDb, btc, trade};

async fn count(db: &TestDb, sql: &str) -> i64 {
    let row = db
        .conn
        .query_one(Statement::from_string(DbBackend::Sqlite, sql))
        .await
        .unwrap()
        .unwrap();
    row.try_get_by_index::<i64>(0).unwrap()
}

async fn stale(db: &TestDb) -> i64 {
    count(db, "SELECT count(*) FROM candles_1h_stale").await
}

async fn hours(db: &TestDb) -> i64 {
    count(db, "SELECT count(*) FROM candles_1h").await
}

fn trades(candles: &[Candle]) -> u64 {
    candles.iter().map(|c| c.trade_count).sum()
}

/// The Bithumb trades' range, and the trades every interval counts over it.
async fn bithumb_counts(db: &TestDb) -> Vec<u64> {
    let events = minutes_of_trades(Exchange::Bithumb, 0);
    let (start, end) = match (events.first(), events.last()) {
        (Some(first), Some(last)) => (first.exchange_time, last.exchange_time.add_micros(1)),
        _ => panic!("no trades"),
    };
    let history = reader(db);
    let mut counts = Vec::new();
    for interval in CandleInterval::ALL {
        let candles = history
            .candles(Exchange::Bithumb, btc(), interval, start, end)
            .await
            .unwrap();
        counts.push(trades(&candles));
    }
    counts
}

#[tokio::test(flavor = "multi_thread")]
async fn stale_hours_are_computed_and_answers_never_change() {
    let db = TestDb::sqlite().await;
    let stats = MaintenanceStats::default();
    write_out_of_order(&db).await;
    // Two exchanges, 74 hours each, all stale: answered from the minutes.
    assert_eq!(stale(&db).await, 2 * 74);
    assert_eq!(hours(&db).await, 0);
    rolls_up_as_rust_does(&db).await;

    // One bounded batch, oldest hours first: half computed, half still read from minutes.
    assert_eq!(refresh_batch(&db.conn, 74).await.unwrap(), 74);
    assert_eq!((stale(&db).await, hours(&db).await), (74, 74));
    rolls_up_as_rust_does(&db).await;

    assert_eq!(refresh(&db.conn, Duration::ZERO, &stats).await.unwrap(), 74);
    assert_eq!((stale(&db).await, hours(&db).await), (0, 2 * 74));
    rolls_up_as_rust_does(&db).await;
    assert_eq!(refresh_batch(&db.conn, HOURS_PER_BATCH).await.unwrap(), 0);

    // Writing everything again (a replay) changes no minute, so no hour goes stale.
    write_out_of_order(&db).await;
    assert_eq!(stale(&db).await, 0);
    rolls_up_as_rust_does(&db).await;

    // New trades in two hours (a new high, a new low) mark those two.
    let midnight = MINUTE - MINUTE.rem_euclid(24 * HOUR);
    let mut store = MarketStore::new(db.conn.clone(), StoreConfig::default());
    store
        .write(&[
            trade(
                midnight + 1_800 * SECOND + 7,
                1,
                "9100000.5",
                "0.25",
                Side::Sell,
            ),
            trade(midnight + 1_801 * SECOND, 2, "4012000", "1", Side::Buy),
            trade(midnight + 30 * HOUR + 5, 3, "1000.00", "2", Side::Buy),
        ])
        .await
        .unwrap();
    assert_eq!(stale(&db).await, 2);
    rolls_up_as_rust_does(&db).await;
    assert_eq!(refresh(&db.conn, Duration::ZERO, &stats).await.unwrap(), 2);
    // What `refresh` computed (not the batch called directly): the metric's count.
    assert_eq!(stats.hours_computed(), 74 + 2);
    rolls_up_as_rust_does(&db).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn computed_hours_are_what_one_hour_and_one_day_read() {
    let db = TestDb::sqlite().await;
    let stats = MaintenanceStats::default();
    write_out_of_order(&db).await;
    refresh(&db.conn, Duration::ZERO, &stats).await.unwrap();
    let before = bithumb_counts(&db).await;
    assert!(
        before.iter().all(|&n| n == before[0] && n > 1_000),
        "{before:?}"
    );

    // An hour that says it holds 1,000 trades more: only 1h and 1d read it.
    let first_hour = "SELECT min(open_time_us) FROM candles_1h \
                      WHERE market_id = (SELECT id FROM markets WHERE exchange = 'bithumb')";
    let bumped = db
        .conn
        .execute_unprepared(&format!(
            "UPDATE candles_1h SET trade_count = trade_count + 1000 \
             WHERE market_id = (SELECT id FROM markets WHERE exchange = 'bithumb') \
             AND open_time_us = ({first_hour})"
        ))
        .await
        .unwrap();
    assert_eq!(bumped.rows_affected(), 1);
    let after = bithumb_counts(&db).await;
    for ((interval, was), now) in CandleInterval::ALL.into_iter().zip(&before).zip(&after) {
        let hourly = interval.duration() >= CandleInterval::OneHour.duration();
        let want = if hourly { was + 1000 } else { *was };
        assert_eq!(*now, want, "{interval}");
    }

    // A minute of that hour written by hand marks it stale: it is read from its minutes again
    // at once, and computed from them in the next round.
    db.conn
        .execute_unprepared(&format!(
            "UPDATE candles_1m SET trade_count = trade_count \
             WHERE market_id = (SELECT id FROM markets WHERE exchange = 'bithumb') \
             AND open_time_us = ({first_hour})"
        ))
        .await
        .unwrap();
    assert_eq!(stale(&db).await, 1);
    assert_eq!(bithumb_counts(&db).await, before);
    refresh(&db.conn, Duration::ZERO, &stats).await.unwrap();
    assert_eq!(stale(&db).await, 0);
    assert_eq!(bithumb_counts(&db).await, before);
}

#[tokio::test(flavor = "multi_thread")]
async fn deleted_minutes_leave_their_hour_and_an_empty_hour_goes() {
    let db = TestDb::sqlite().await;
    let stats = MaintenanceStats::default();
    write_out_of_order(&db).await;
    refresh(&db.conn, Duration::ZERO, &stats).await.unwrap();
    let before = bithumb_counts(&db).await;
    let bithumb = "market_id = (SELECT id FROM markets WHERE exchange = 'bithumb')";
    let last_hour = count(
        &db,
        &format!("SELECT max(open_time_us) FROM candles_1h WHERE {bithumb}"),
    )
    .await;
    let in_last_hour = count(
        &db,
        &format!(
            "SELECT sum(trade_count) FROM candles_1m WHERE {bithumb} \
             AND open_time_us >= {last_hour} AND open_time_us < {last_hour} + 3600000000"
        ),
    )
    .await;

    // Every minute of the last hour goes: the hour is stale, then gone.
    let deleted = db
        .conn
        .execute_unprepared(&format!(
            "DELETE FROM candles_1m WHERE {bithumb} AND open_time_us >= {last_hour}"
        ))
        .await
        .unwrap();
    assert!(deleted.rows_affected() > 0);
    assert_eq!(stale(&db).await, 1);
    let after = bithumb_counts(&db).await;
    let fewer = before[0] - u64::try_from(in_last_hour).unwrap();
    assert!(after.iter().all(|&n| n == fewer), "{after:?}, {fewer}");
    let hours_before = hours(&db).await;
    refresh(&db.conn, Duration::ZERO, &stats).await.unwrap();
    assert_eq!(hours(&db).await, hours_before - 1);
    assert_eq!(bithumb_counts(&db).await, after);
    rolls_up_as_rust_does(&db).await;
}
