//! Migration 11 keeps every row: on PostgreSQL it rebuilds trades, tickers and order book
//! snapshots with their fixed-width columns first and a one-byte side, in the same partitions
//! and under the same keys, and rolls back to migration 10's layout; on SQLite it rewrites the
//! sides.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use sea_orm_migration::MigratorTrait;
use sea_orm_migration::sea_orm::{ConnectionTrait, Database, DatabaseConnection};
use support::strings;
use tickmesh_migrations::Migrator;
use tickmesh_migrations::testing::ScratchPostgres;

/// 2024-12-31T00:00:00Z, µs.
const DEC31: i64 = 1_735_603_200_000_000;
const DAY_US: i64 = 86_400_000_000;

/// Rows on two days, both sides, with and without positions and optional ticker fields.
async fn seed(db: &DatabaseConnection) {
    db.execute_unprepared(
        "INSERT INTO markets (id, exchange, market) VALUES (1, 'upbit', 'BTC/KRW')",
    )
    .await
    .unwrap();
    for (i, at) in [DEC31 + 5, DEC31 + DAY_US - 1, DEC31 + DAY_US + 7]
        .into_iter()
        .enumerate()
    {
        let (side, position) = if i % 2 == 0 {
            ("buy", i.to_string())
        } else {
            ("sell", "NULL".to_owned())
        };
        db.execute_unprepared(&format!(
            "INSERT INTO trades (market_id, trade_id, price, size, side, exchange_time_us, \
             received_time_us, position) \
             VALUES (1, {i}, 100.50, 0.0010, '{side}', {at}, {at} + 3, {position})"
        ))
        .await
        .unwrap();
        db.execute_unprepared(&format!(
            "INSERT INTO tickers (market_id, exchange_time_us, received_time_us, last, \
             best_bid, quote_volume_24h, position) \
             VALUES (1, {at}, {at} + 1, 0.00079276, 142000000.000, NULL, {position})"
        ))
        .await
        .unwrap();
        db.execute_unprepared(&format!(
            "INSERT INTO orderbook_snapshots (market_id, exchange_time_us, received_time_us, \
             bids, asks) VALUES (1, {at}, {at} + 2, '[[\"100.5\",\"1.0\"]]', '[]')"
        ))
        .await
        .unwrap();
    }
}

/// Every row of the three tables as text, in key order; a side by its first letter, which
/// both layouts share.
async fn contents(db: &DatabaseConnection) -> Vec<String> {
    let mut out = strings(
        db,
        "SELECT market_id || ' ' || trade_id || ' ' || price || ' ' || size || ' ' \
         || substr(CAST(side AS text), 1, 1) || ' ' || exchange_time_us || ' ' \
         || received_time_us || ' ' || coalesce(CAST(position AS text), '-') AS r \
         FROM trades ORDER BY exchange_time_us",
    )
    .await;
    out.extend(
        strings(
            db,
            "SELECT market_id || ' ' || exchange_time_us || ' ' || received_time_us || ' ' \
             || last || ' ' || coalesce(CAST(best_bid AS text), '-') || ' ' \
             || coalesce(CAST(quote_volume_24h AS text), '-') || ' ' \
             || coalesce(CAST(position AS text), '-') AS r FROM tickers \
             ORDER BY exchange_time_us",
        )
        .await,
    );
    out.extend(
        strings(
            db,
            "SELECT market_id || ' ' || exchange_time_us || ' ' || received_time_us || ' ' \
             || bids || ' ' || asks AS r FROM orderbook_snapshots ORDER BY exchange_time_us",
        )
        .await,
    );
    out
}

/// The columns of `table` in their stored order, with their types.
async fn columns(db: &DatabaseConnection, table: &str) -> Vec<String> {
    strings(
        db,
        &format!(
            "SELECT attname || ' ' || format_type(atttypid, atttypmod) AS r FROM pg_attribute \
             WHERE attrelid = '{table}'::regclass AND attnum > 0 AND NOT attisdropped \
             ORDER BY attnum"
        ),
    )
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn rows_are_compacted_keeping_every_row_and_roll_back_on_postgres() {
    let scratch = ScratchPostgres::create()
        .await
        .expect("PostgreSQL must be reachable (TICKMESH_TEST_DATABASE_URL)");
    let db = Database::connect(scratch.url()).await.unwrap();
    // Seeded before migration 10, which makes the partitions the rows need.
    Migrator::up(&db, Some(9)).await.unwrap();
    seed(&db).await;
    Migrator::up(&db, Some(1)).await.unwrap();
    let before = contents(&db).await;
    assert_eq!(before.len(), 9);
    let sides = "SELECT CAST(side AS text) AS r FROM trades ORDER BY exchange_time_us";
    assert_eq!(strings(&db, sides).await, ["buy", "sell", "buy"]);

    Migrator::up(&db, Some(1)).await.unwrap();
    assert_eq!(contents(&db).await, before);
    assert_eq!(strings(&db, sides).await, ["b", "s", "b"]);
    assert_eq!(
        columns(&db, "trades").await,
        [
            "exchange_time_us bigint",
            "trade_id bigint",
            "received_time_us bigint",
            "position bigint",
            "market_id integer",
            "side \"char\"",
            "price numeric",
            "size numeric",
        ]
    );
    assert_eq!(
        columns(&db, "tickers").await[..4],
        [
            "exchange_time_us bigint",
            "received_time_us bigint",
            "position bigint",
            "market_id integer"
        ]
    );
    assert_eq!(
        columns(&db, "orderbook_snapshots").await,
        [
            "exchange_time_us bigint",
            "received_time_us bigint",
            "market_id integer",
            "bids text",
            "asks text",
        ]
    );
    // The same partitions, under the same names, each with the key and the position index.
    for table in ["trades", "tickers", "orderbook_snapshots"] {
        let partitions = strings(
            &db,
            &format!(
                "SELECT tableoid::regclass::text || ':' || count(*) AS r FROM {table} \
                 GROUP BY tableoid ORDER BY 1"
            ),
        )
        .await;
        assert_eq!(
            partitions,
            [
                format!("{table}_p20241231:2"),
                format!("{table}_p20250101:1")
            ],
            "{table}"
        );
    }
    let indexes = strings(
        &db,
        "SELECT indexname || ' ' || coalesce(array_to_string(c.reloptions, ','), '-') AS r \
         FROM pg_indexes JOIN pg_class c ON c.relname = indexname \
         WHERE tablename IN ('trades', 'trades_p20241231') ORDER BY 1",
    )
    .await;
    assert_eq!(
        indexes,
        [
            "ix_trades_position fillfactor=100",
            "trades_p20241231_pkey -",
            "trades_p20241231_position_idx fillfactor=100",
            "trades_pkey -",
        ]
    );
    for duplicate in [
        "INSERT INTO trades (market_id, trade_id, price, size, side, exchange_time_us, \
         received_time_us) VALUES (1, 0, 1, 1, 'b', 5 + 1735603200000000, 1)",
        "INSERT INTO tickers (market_id, exchange_time_us, received_time_us, last) \
         VALUES (1, 5 + 1735603200000000, 1, 1)",
        "INSERT INTO orderbook_snapshots (market_id, exchange_time_us, received_time_us, \
         bids, asks) VALUES (1, 5 + 1735603200000000, 1, '[]', '[]')",
    ] {
        assert!(
            db.execute_unprepared(duplicate).await.is_err(),
            "{duplicate}"
        );
    }

    Migrator::down(&db, Some(1)).await.unwrap();
    assert_eq!(contents(&db).await, before);
    assert_eq!(strings(&db, sides).await, ["buy", "sell", "buy"]);
    assert_eq!(columns(&db, "trades").await[0], "market_id integer");
    db.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn sides_are_rewritten_keeping_every_row_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let db = support::sqlite(&dir).await;
    // Seeded before migration 10, which makes the partitions the rows need.
    Migrator::up(&db, Some(9)).await.unwrap();
    seed(&db).await;
    Migrator::up(&db, Some(1)).await.unwrap();
    let before = contents(&db).await;
    let sides = "SELECT side AS r FROM trades ORDER BY exchange_time_us";
    Migrator::up(&db, Some(1)).await.unwrap();
    assert_eq!(contents(&db).await, before);
    assert_eq!(strings(&db, sides).await, ["b", "s", "b"]);
    Migrator::down(&db, Some(1)).await.unwrap();
    assert_eq!(contents(&db).await, before);
    assert_eq!(strings(&db, sides).await, ["buy", "sell", "buy"]);
}
