//! Migration 12 fills `candles_1h` from the minutes already stored, its trigger merges every
//! minute written afterwards into its hour, and down removes the table, the trigger and its
//! function, on PostgreSQL; on SQLite it changes nothing.

// Helpers outside #[test] functions unwrap too: a panic is how a test reports failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use sea_orm_migration::MigratorTrait;
use sea_orm_migration::sea_orm::{ConnectionTrait, Database, DatabaseConnection};
use support::strings;
use tickmesh_migrations::Migrator;
use tickmesh_migrations::testing::ScratchPostgres;

/// 2025-01-01T00:00:00Z, µs.
const JAN1: i64 = 1_735_689_600_000_000;
const MINUTE: i64 = 60_000_000;

/// A minute row: minute index after `JAN1`, open, high, low, close, volume, trades, first and
/// last trade (time offset in the minute in µs, id).
fn minute(
    m: i64,
    [open, high, low, close, volume]: [&str; 5],
    count: i64,
    first: (i64, i64),
    last: (i64, i64),
) -> String {
    let t = JAN1 + m * MINUTE;
    format!(
        "INSERT INTO candles_1m (market_id, open_time_us, open, high, low, close, volume, \
         quote_volume, trade_count, first_trade_time_us, first_trade_id, last_trade_time_us, \
         last_trade_id) VALUES (1, {t}, {open}, {high}, {low}, {close}, {volume}, \
         {volume} * {close}, {count}, {}, {}, {}, {})",
        t + first.0,
        first.1,
        t + last.0,
        last.1
    )
}

/// Every hour: its start in minutes after `JAN1`, prices, sums, count, trade ids, and the
/// minutes of its high and low.
async fn hours(db: &DatabaseConnection) -> Vec<String> {
    strings(
        db,
        &format!(
            "SELECT concat_ws(' ', (open_time_us - {JAN1}) / {MINUTE}, open, high, low, close, \
             volume, quote_volume, trade_count, first_trade_id, last_trade_id, \
             (high_minute_us - {JAN1}) / {MINUTE}, (low_minute_us - {JAN1}) / {MINUTE}) AS r \
             FROM candles_1h ORDER BY open_time_us"
        ),
    )
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn hours_are_filled_kept_by_the_trigger_and_removed_on_postgres() {
    let scratch = ScratchPostgres::create()
        .await
        .expect("PostgreSQL must be reachable (TICKMESH_TEST_DATABASE_URL)");
    let db = Database::connect(scratch.url()).await.unwrap();
    Migrator::up(&db, Some(11)).await.unwrap();
    db.execute_unprepared(
        "INSERT INTO markets (id, exchange, market) VALUES (1, 'upbit', 'BTC/KRW')",
    )
    .await
    .unwrap();
    // Hour 0: minute 1 opens (the earliest trade) though written last, minutes 5 and 1 tie on
    // the high in different spellings (minute 1's wins, the earlier), minute 5 holds the low
    // and the close. Hour 1: one minute.
    for sql in [
        minute(
            5,
            ["101", "105.0", "99.5", "100", "2"],
            4,
            (0, 40),
            (50, 45),
        ),
        minute(3, ["100", "104", "100", "104", "0.25"], 1, (0, 5), (0, 5)),
        minute(
            61,
            ["110", "111", "109", "109.5", "3"],
            3,
            (0, 60),
            (30, 62),
        ),
        minute(
            1,
            ["102", "105.00", "101", "103", "1.5"],
            2,
            (0, 20),
            (10, 21),
        ),
    ] {
        db.execute_unprepared(&sql).await.unwrap();
    }
    Migrator::up(&db, Some(1)).await.unwrap();
    let filled = [
        "0 102 105.00 99.5 100 3.75 380.50 7 20 45 1 5",
        "60 110 111 109 109.5 3 328.5 3 60 62 61 61",
    ];
    assert_eq!(hours(&db).await, filled);

    // Another writer's minute, then an update of it: the hour gains what the minute gained.
    db.execute_unprepared(&minute(
        7,
        ["98", "98", "98", "98", "1"],
        1,
        (0, 70),
        (0, 70),
    ))
    .await
    .unwrap();
    db.execute_unprepared(&format!(
        "UPDATE candles_1m SET volume = volume + 0.5, trade_count = trade_count + 1, \
         low = 97.0, close = 97.0, last_trade_time_us = last_trade_time_us + 1, \
         last_trade_id = 71 WHERE open_time_us = {}",
        JAN1 + 7 * MINUTE
    ))
    .await
    .unwrap();
    assert_eq!(
        hours(&db).await,
        [
            "0 102 105.00 97.0 97.0 5.25 478.50 9 20 71 1 7",
            "60 110 111 109 109.5 3 328.5 3 60 62 61 61",
        ]
    );

    Migrator::down(&db, Some(1)).await.unwrap();
    let left = strings(
        &db,
        "SELECT concat_ws(' ', to_regclass('candles_1h') IS NULL, \
         (SELECT count(*) FROM pg_proc WHERE proname = 'candles_1h_merge')) AS r",
    )
    .await;
    assert_eq!(left, ["t 0"]);
    // Minutes are written as before, and up again fills the hours from them.
    db.execute_unprepared(&minute(
        62,
        ["112", "112", "112", "112", "1"],
        1,
        (0, 80),
        (0, 80),
    ))
    .await
    .unwrap();
    Migrator::up(&db, Some(1)).await.unwrap();
    assert_eq!(
        hours(&db).await,
        [
            "0 102 105.00 97.0 97.0 5.25 478.50 9 20 71 1 7",
            "60 110 112 109 112 4 440.5 4 60 80 62 61",
        ]
    );
    db.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn migration_12_changes_nothing_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let db = support::sqlite(&dir).await;
    Migrator::up(&db, Some(12)).await.unwrap();
    let tables = strings(
        &db,
        "SELECT name AS r FROM sqlite_master WHERE type = 'table' AND name LIKE 'candles%'",
    )
    .await;
    assert_eq!(tables, ["candles_1m"]);
    Migrator::down(&db, Some(1)).await.unwrap();
}
