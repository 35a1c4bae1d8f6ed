//! Migration 13 gives SQLite `candles_1h` and the stale marks: up marks every hour that has
//! minutes, its triggers mark the hour of every minute inserted, updated or deleted (once,
//! whatever the statement's own conflict rule), and down removes all of it; on PostgreSQL it
//! changes nothing.

// Helpers outside #[test] functions unwrap too: a panic is how a test reports failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use sea_orm_migration::MigratorTrait;
use sea_orm_migration::sea_orm::{ConnectionTrait, Database};
use support::strings;
use tickmesh_migrations::Migrator;
use tickmesh_migrations::testing::ScratchPostgres;

/// 2025-01-01T00:00:00Z, µs.
const JAN1: i64 = 1_735_689_600_000_000;
const MINUTE: i64 = 60_000_000;

/// A one-trade minute `m` minutes after `JAN1` at `price`; `conflict` ends the statement.
fn minute(m: i64, price: &str, conflict: &str) -> String {
    let t = JAN1 + m * MINUTE;
    format!(
        "INSERT INTO candles_1m (market_id, open_time_us, open, high, low, close, volume, \
         quote_volume, trade_count, first_trade_time_us, first_trade_id, last_trade_time_us, \
         last_trade_id) VALUES (1, {t}, '{price}', '{price}', '{price}', '{price}', '1', \
         '{price}', 1, {t}, {m}, {t}, {m}) {conflict}"
    )
}

/// The stale hours, in hours after `JAN1`.
async fn stale(db: &sea_orm_migration::sea_orm::DatabaseConnection) -> Vec<String> {
    strings(
        db,
        &format!(
            "SELECT CAST((open_time_us - {JAN1}) / 3600000000 AS text) AS r \
             FROM candles_1h_stale ORDER BY open_time_us"
        ),
    )
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn sqlite_marks_the_hours_its_minutes_touch() {
    let dir = tempfile::tempdir().unwrap();
    let db = support::sqlite(&dir).await;
    Migrator::up(&db, Some(12)).await.unwrap();
    db.execute_unprepared(
        "INSERT INTO markets (id, exchange, market) VALUES (1, 'upbit', 'BTC/KRW')",
    )
    .await
    .unwrap();
    // Two minutes in hour 0, one in hour 2, written before the migration.
    for m in [0, 59, 150] {
        db.execute_unprepared(&minute(m, "100.5", ""))
            .await
            .unwrap();
    }
    Migrator::up(&db, None).await.unwrap();
    assert_eq!(stale(&db).await, ["0", "2"]);
    let tables = strings(
        &db,
        "SELECT name AS r FROM sqlite_master WHERE type = 'table' AND name LIKE 'candles%' \
         ORDER BY name",
    )
    .await;
    assert_eq!(tables, ["candles_1h", "candles_1h_stale", "candles_1m"]);

    // Marks cleared as storage does; then an upsert that updates (storage's statement form),
    // an insert, an update moving a minute to another hour, and a delete.
    db.execute_unprepared("DELETE FROM candles_1h_stale")
        .await
        .unwrap();
    db.execute_unprepared(&minute(
        0,
        "101",
        "ON CONFLICT (market_id, open_time_us) DO UPDATE SET close = excluded.close",
    ))
    .await
    .unwrap();
    assert_eq!(stale(&db).await, ["0"]);
    db.execute_unprepared(&minute(61, "99", "")).await.unwrap();
    db.execute_unprepared(&minute(62, "99", "ON CONFLICT DO NOTHING"))
        .await
        .unwrap();
    assert_eq!(stale(&db).await, ["0", "1"]);
    db.execute_unprepared(&format!(
        "UPDATE candles_1m SET open_time_us = {} WHERE open_time_us = {}",
        JAN1 + 300 * MINUTE,
        JAN1 + 150 * MINUTE
    ))
    .await
    .unwrap();
    assert_eq!(stale(&db).await, ["0", "1", "2", "5"]);
    db.execute_unprepared("DELETE FROM candles_1h_stale")
        .await
        .unwrap();
    db.execute_unprepared(&format!(
        "DELETE FROM candles_1m WHERE open_time_us = {}",
        JAN1 + 59 * MINUTE
    ))
    .await
    .unwrap();
    assert_eq!(stale(&db).await, ["0"]);

    Migrator::down(&db, Some(1)).await.unwrap();
    let left = strings(
        &db,
        "SELECT name AS r FROM sqlite_master WHERE name LIKE 'candles_1h%' ORDER BY name",
    )
    .await;
    assert!(left.is_empty(), "{left:?}");
    // The minutes' writes work without the triggers' table.
    db.execute_unprepared(&minute(400, "1", "")).await.unwrap();
    db.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn postgres_gets_no_stale_marks() {
    let scratch = ScratchPostgres::create()
        .await
        .expect("PostgreSQL must be reachable (TICKMESH_TEST_DATABASE_URL)");
    let db = Database::connect(scratch.url()).await.unwrap();
    Migrator::up(&db, None).await.unwrap();
    let tables = strings(
        &db,
        "SELECT tablename::text AS r FROM pg_tables WHERE tablename LIKE 'candles_1h%' \
         ORDER BY 1",
    )
    .await;
    assert_eq!(tables, ["candles_1h"]);
    db.close().await.unwrap();
}
