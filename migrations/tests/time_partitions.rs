//! Migration 10 keeps every row: on PostgreSQL it partitions trades, tickers and order book
//! snapshots by day (one partition per UTC day the rows need) and rolls back to plain tables;
//! on SQLite it rekeys trades. Both add `retention_marks`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use sea_orm_migration::MigratorTrait;
use sea_orm_migration::sea_orm::{ConnectionTrait, Database, DatabaseConnection, DbBackend};
use support::strings;
use tickmesh_migrations::Migrator;
use tickmesh_migrations::testing::ScratchPostgres;

/// 2024-12-31T00:00:00Z, µs.
const DEC31: i64 = 1_735_603_200_000_000;
const DAY_US: i64 = 86_400_000_000;

/// Rows on three days (one of them before 1970 too, to check the floor of negative times).
async fn seed(db: &DatabaseConnection) {
    db.execute_unprepared(
        "INSERT INTO markets (id, exchange, market) VALUES (1, 'upbit', 'BTC/KRW')",
    )
    .await
    .unwrap();
    for (i, at) in [
        DEC31 + 5,
        DEC31 + DAY_US - 1,
        DEC31 + DAY_US,
        DEC31 + 2 * DAY_US + 7,
        -3,
    ]
    .into_iter()
    .enumerate()
    {
        db.execute_unprepared(&format!(
            "INSERT INTO trades (market_id, trade_id, price, size, side, exchange_time_us, \
             received_time_us, position) VALUES (1, {i}, 100.50, 0.0010, 'buy', {at}, {at}, {i})"
        ))
        .await
        .unwrap();
        db.execute_unprepared(&format!(
            "INSERT INTO tickers (market_id, exchange_time_us, received_time_us, last) \
             VALUES (1, {at}, {at}, 0.00079276)"
        ))
        .await
        .unwrap();
        db.execute_unprepared(&format!(
            "INSERT INTO orderbook_snapshots VALUES (1, {at}, {at}, '[]', '[]')"
        ))
        .await
        .unwrap();
    }
}

/// Every row of the three tables as text, in key order.
async fn contents(db: &DatabaseConnection) -> Vec<String> {
    let mut out = strings(
        db,
        "SELECT market_id || ' ' || trade_id || ' ' || price || ' ' || size || ' ' || side || ' ' \
         || exchange_time_us || ' ' || received_time_us || ' ' || position AS r FROM trades \
         ORDER BY exchange_time_us",
    )
    .await;
    out.extend(
        strings(
            db,
            "SELECT market_id || ' ' || exchange_time_us || ' ' || last AS r FROM tickers \
             ORDER BY exchange_time_us",
        )
        .await,
    );
    out.extend(
        strings(
            db,
            "SELECT market_id || ' ' || exchange_time_us || ' ' || bids AS r \
             FROM orderbook_snapshots ORDER BY exchange_time_us",
        )
        .await,
    );
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn partitions_keep_every_row_and_roll_back_on_postgres() {
    let scratch = ScratchPostgres::create()
        .await
        .expect("PostgreSQL must be reachable (TICKMESH_TEST_DATABASE_URL)");
    let db = Database::connect(scratch.url()).await.unwrap();
    Migrator::up(&db, Some(9)).await.unwrap();
    seed(&db).await;
    let before = contents(&db).await;
    assert_eq!(before.len(), 15);

    Migrator::up(&db, Some(1)).await.unwrap();
    assert_eq!(contents(&db).await, before);
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
                format!("{table}_p19691231:1"),
                format!("{table}_p20241231:2"),
                format!("{table}_p20250101:1"),
                format!("{table}_p20250102:1"),
            ],
            "{table}"
        );
    }
    // Trades are keyed on (market, time, trade id); the separate time index is gone.
    let indexes = strings(
        &db,
        "SELECT indexname::text AS r FROM pg_indexes WHERE tablename = 'trades' ORDER BY 1",
    )
    .await;
    assert_eq!(indexes, ["ix_trades_position", "trades_pkey"]);
    assert!(
        db.execute_unprepared(
            "INSERT INTO trades VALUES (1, 0, 1, 1, 'buy', 5 + 1735603200000000, 1, NULL)"
        )
        .await
        .is_err(),
        "the key refuses a trade stored twice"
    );
    assert_eq!(
        strings(&db, "SELECT count(*)::text AS r FROM retention_marks").await,
        ["0"]
    );

    Migrator::down(&db, Some(1)).await.unwrap();
    assert_eq!(contents(&db).await, before);
    let kind = strings(
        &db,
        "SELECT relkind::text AS r FROM pg_class WHERE relname = 'trades'",
    )
    .await;
    assert_eq!(kind, ["r"], "a plain table again");
    db.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn trades_are_rekeyed_keeping_every_row_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let db = support::sqlite(&dir).await;
    Migrator::up(&db, Some(9)).await.unwrap();
    seed(&db).await;
    let before = contents(&db).await;
    Migrator::up(&db, Some(1)).await.unwrap();
    assert_eq!(contents(&db).await, before);
    let indexes = strings(
        &db,
        "SELECT name AS r FROM sqlite_master WHERE type = 'index' AND tbl_name = 'trades' \
         AND name NOT LIKE 'sqlite_autoindex%' ORDER BY 1",
    )
    .await;
    assert_eq!(indexes, ["ix_trades_position"]);
    // The same trade id at another time is another row under the new key.
    db.execute_unprepared("INSERT INTO trades VALUES (1, 0, '1', '1', 'buy', 99, 1, NULL)")
        .await
        .unwrap();
    db.execute_unprepared("DELETE FROM trades WHERE exchange_time_us = 99")
        .await
        .unwrap();
    Migrator::down(&db, Some(1)).await.unwrap();
    assert_eq!(contents(&db).await, before);
    assert_eq!(db.get_database_backend(), DbBackend::Sqlite);
}
