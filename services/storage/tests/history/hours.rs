//! PostgreSQL's hourly candles (`candles_1h`, which 1h and 1d reads roll up): the trigger on
//! the minutes keeps them equal to what rebuilding them from the minutes gives, whatever order
//! the trades arrive in, and history answers from them as the minutes' roll-up does.

use sea_orm::{ConnectionTrait as _, DbBackend, Statement};
use tickmesh_domain::Exchange;
use tickmesh_storage::{MarketStore, StoreConfig};

use super::rollup::{minutes_of_trades, rolls_up_as_rust_does};
use crate::common::TestDb;

/// The trades of [`minutes_of_trades`] for Bithumb and Upbit in batches of 37, the batches
/// newest first (so most minutes and every hour are written by several batches, and earlier
/// trades replace the open of what is stored), every fifth batch written twice.
pub(super) async fn write_out_of_order(db: &TestDb) {
    let mut store = MarketStore::new(db.conn.clone(), StoreConfig::default());
    for exchange in [Exchange::Bithumb, Exchange::Upbit] {
        let salt = if exchange == Exchange::Upbit { 7 } else { 0 };
        let events = minutes_of_trades(exchange, salt);
        for (i, batch) in events.chunks(37).rev().enumerate() {
            store.write(batch).await.unwrap();
            if i % 5 == 0 {
                store.write(batch).await.unwrap();
            }
        }
    }
}

/// Every column of every stored hour, decimals as text so the scale counts, in key order.
async fn stored_hours(db: &TestDb) -> Vec<String> {
    let rows = db
        .conn
        .query_all(Statement::from_string(
            DbBackend::Postgres,
            "SELECT concat_ws(' ', market_id, open_time_us, open, high, low, close, volume, \
             quote_volume, trade_count, first_trade_time_us, first_trade_id, \
             last_trade_time_us, last_trade_id, high_minute_us, low_minute_us) AS line \
             FROM candles_1h ORDER BY market_id, open_time_us",
        ))
        .await
        .unwrap();
    rows.iter()
        .map(|row| row.try_get::<String>("", "line").unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn hours_merged_minute_by_minute_equal_hours_rebuilt_from_the_minutes() {
    let db = TestDb::postgres().await;
    write_out_of_order(&db).await;
    let merged = stored_hours(&db).await;
    // Two exchanges, 74 hours each (two before the first midnight, three days after).
    assert_eq!(merged.len(), 2 * 74, "{merged:#?}");
    db.conn
        .execute_unprepared(tickmesh_migrations::REBUILD_HOURLY_CANDLES)
        .await
        .unwrap();
    assert_eq!(stored_hours(&db).await, merged);
}

async fn the_database_rolls_up_as_rust_does_whatever_the_arrival_order(db: TestDb) {
    write_out_of_order(&db).await;
    rolls_up_as_rust_does(&db).await;
}
crate::on_both_backends!(the_database_rolls_up_as_rust_does_whatever_the_arrival_order);

#[tokio::test(flavor = "multi_thread")]
async fn one_hour_and_one_day_candles_are_read_from_the_hours() {
    use tickmesh_domain::CandleInterval;

    use super::fixtures::reader;
    use crate::common::btc;

    let db = TestDb::postgres().await;
    write_out_of_order(&db).await;
    let history = reader(&db);
    let count = |candles: &[tickmesh_domain::Candle]| -> u64 {
        candles.iter().map(|c| c.trade_count).sum()
    };
    let events = minutes_of_trades(Exchange::Bithumb, 0);
    let (start, end) = match (events.first(), events.last()) {
        (Some(first), Some(last)) => (first.exchange_time, last.exchange_time.add_micros(1)),
        _ => panic!("no trades"),
    };
    let mut before = Vec::new();
    for interval in CandleInterval::ALL {
        let candles = history
            .candles(Exchange::Bithumb, btc(), interval, start, end)
            .await;
        before.push(count(&candles.unwrap()));
    }
    // Every interval counts the same trades.
    assert!(
        before.iter().all(|&n| n == before[0] && n > 1_000),
        "{before:?}"
    );

    // An hour that says it holds 1,000 trades more: only 1h and 1d read it.
    let updated = db
        .conn
        .execute_unprepared(
            "UPDATE candles_1h SET trade_count = trade_count + 1000 \
             WHERE market_id = (SELECT id FROM markets WHERE exchange = 'bithumb') \
             AND open_time_us = (SELECT min(open_time_us) FROM candles_1h)",
        )
        .await
        .unwrap();
    assert_eq!(updated.rows_affected(), 1);
    for (interval, was) in CandleInterval::ALL.into_iter().zip(before) {
        let candles = history
            .candles(Exchange::Bithumb, btc(), interval, start, end)
            .await
            .unwrap();
        let hourly = interval.duration() >= CandleInterval::OneHour.duration();
        let want = if hourly { was + 1000 } else { was };
        assert_eq!(count(&candles), want, "{interval}");
    }
}

/// A later batch that brings a minute's low again in another spelling changes the minute's
/// stored low (PostgreSQL's merge takes the newer of two equal lows); its hour follows the
/// minute, as a rebuild from the minutes would.
#[tokio::test(flavor = "multi_thread")]
async fn an_hour_follows_its_minute_when_the_minute_is_respelt() {
    use tickmesh_domain::Side;

    use crate::common::{MINUTE, trade};

    let db = TestDb::postgres().await;
    let mut store = MarketStore::new(db.conn.clone(), StoreConfig::default());
    let second = 1_000_000;
    for batch in [
        [trade(MINUTE + second, 1, "100.0", "1", Side::Buy)],
        [trade(MINUTE + 2 * second, 2, "100.00", "1", Side::Sell)],
        [trade(MINUTE + 3 * second, 3, "100.000", "1", Side::Buy)],
    ] {
        store.write(&batch).await.unwrap();
    }
    let merged = stored_hours(&db).await;
    assert_eq!(merged.len(), 1, "{merged:#?}");
    db.conn
        .execute_unprepared(tickmesh_migrations::REBUILD_HOURLY_CANDLES)
        .await
        .unwrap();
    assert_eq!(stored_hours(&db).await, merged);
}
