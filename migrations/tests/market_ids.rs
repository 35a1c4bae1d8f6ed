//! Migration 7 moves stored rows from (exchange, market) keys to market ids, and back, without
//! losing or changing a row, on both backends.

// Helpers outside #[test] functions unwrap too: a panic is how a test reports failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use sea_orm_migration::MigratorTrait;
use sea_orm_migration::sea_orm::{ConnectionTrait, Database, DatabaseConnection, Statement};
use tickmesh_migrations::Migrator;
use tickmesh_migrations::testing::ScratchPostgres;

/// Each market-data table with its columns besides the market.
const TABLES: [(&str, &[&str]); 4] = [
    (
        "trades",
        &[
            "trade_id",
            "price",
            "size",
            "side",
            "exchange_time_us",
            "received_time_us",
        ],
    ),
    (
        "tickers",
        &[
            "exchange_time_us",
            "received_time_us",
            "last",
            "open",
            "best_ask",
        ],
    ),
    (
        "orderbook_snapshots",
        &["exchange_time_us", "received_time_us", "bids", "asks"],
    ),
    (
        "candles_1m",
        &[
            "open_time_us",
            "open",
            "close",
            "quote_volume",
            "trade_count",
            "first_trade_id",
            "last_trade_id",
        ],
    ),
];

/// Rows in the shape migrations 1 to 6 created: four pairs over three exchanges, one pair
/// only in a table other than `trades`.
const OLD_ROWS: [&str; 7] = [
    "INSERT INTO trades VALUES ('upbit', 'BTC/KRW', 7, 100.50, 0.0010, 'buy', 1, 2), \
     ('bithumb', 'BTC/KRW', 7, 101, 2, 'sell', 3, 4), ('upbit', 'ETH/KRW', 8, 5.25, 1, 'buy', 5, 6)",
    "INSERT INTO tickers (exchange, market, exchange_time_us, received_time_us, last, open) \
     VALUES ('korbit', 'XRP/KRW', 10, 11, 0.00079276, NULL)",
    "INSERT INTO tickers (exchange, market, exchange_time_us, received_time_us, last, open, \
     best_ask) VALUES ('upbit', 'BTC/KRW', 12, 13, 100.50, 99, 100.60)",
    "INSERT INTO orderbook_snapshots VALUES ('upbit', 'BTC/KRW', 5, 6, '[[\"100.5\",\"1\"]]', '[]')",
    "INSERT INTO candles_1m VALUES ('upbit', 'BTC/KRW', 0, 100.50, 100.50, 100.50, 100.50, \
     0.0010, 0.1005, 1, 1, 7, 1, 7)",
    "INSERT INTO candles_1m VALUES ('bithumb', 'BTC/KRW', 0, 101, 101, 101, 101, 2, 202, 1, 3, \
     7, 3, 7)",
    "INSERT INTO candles_1m VALUES ('upbit', 'ETH/KRW', 0, 5.25, 5.25, 5.25, 5.25, 1, 5.25, 1, \
     5, 8, 5, 8)",
];

/// Every row of every market-data table as text, with its exchange and market, sorted; read
/// through `markets` when the tables are keyed on ids.
async fn dump(db: &DatabaseConnection, by_id: bool) -> Vec<String> {
    let mut out = Vec::new();
    for (table, columns) in TABLES {
        let values: Vec<String> = columns
            .iter()
            .map(|c| format!("coalesce(cast(t.{c} as text), 'null')"))
            .collect();
        let (from, names) = if by_id {
            (
                format!("{table} t JOIN markets m ON m.id = t.market_id"),
                "m.exchange || '|' || m.market",
            )
        } else {
            (format!("{table} t"), "t.exchange || '|' || t.market")
        };
        let sql = format!(
            "SELECT '{table}|' || {names} || '|' || {} AS r FROM {from}",
            values.join(" || '|' || ")
        );
        let rows = db
            .query_all(Statement::from_string(db.get_database_backend(), sql))
            .await
            .unwrap();
        out.extend(rows.iter().map(|r| r.try_get::<String>("", "r").unwrap()));
    }
    out.sort();
    out
}

/// Applies migrations 1 to 6, stores rows, then migration 7 and its rollback.
async fn rows_survive_both_ways(db: &DatabaseConnection) {
    Migrator::up(db, Some(6)).await.unwrap();
    for insert in OLD_ROWS {
        db.execute_unprepared(insert).await.unwrap();
    }
    let before = dump(db, false).await;
    assert_eq!(before.len(), 9, "{before:#?}");

    // Migration 7 alone, so that rolling one back below undoes it.
    Migrator::up(db, Some(1)).await.unwrap();
    assert_eq!(dump(db, true).await, before);
    let rows = db
        .query_all(Statement::from_string(
            db.get_database_backend(),
            "SELECT exchange || '|' || market AS pair FROM markets ORDER BY pair",
        ))
        .await
        .unwrap();
    let pairs: Vec<String> = rows
        .iter()
        .map(|r| r.try_get("", "pair").unwrap())
        .collect();
    assert_eq!(
        pairs,
        [
            "bithumb|BTC/KRW",
            "korbit|XRP/KRW",
            "upbit|BTC/KRW",
            "upbit|ETH/KRW"
        ]
    );
    // The key still rejects a second row of one trade.
    let again = "INSERT INTO trades SELECT market_id, trade_id, price, size, side, \
                 exchange_time_us, received_time_us FROM trades WHERE trade_id = 8";
    assert!(db.execute_unprepared(again).await.is_err());

    // A row whose market has no id cannot be moved back: the rollback fails and changes
    // nothing rather than drop it.
    let orphan = "INSERT INTO trades VALUES (999, 1, 1, 1, 'buy', 1, 1)";
    db.execute_unprepared(orphan).await.unwrap();
    let err = Migrator::down(db, Some(1)).await.unwrap_err();
    assert!(err.to_string().contains("3 of 4 rows copied"), "{err}");
    assert_eq!(dump(db, true).await, before);
    db.execute_unprepared("DELETE FROM trades WHERE market_id = 999")
        .await
        .unwrap();

    Migrator::down(db, Some(1)).await.unwrap();
    assert_eq!(dump(db, false).await, before);
    assert!(
        db.execute_unprepared("SELECT COUNT(*) FROM markets")
            .await
            .is_err(),
        "markets remains"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn stored_rows_move_to_market_ids_and_back_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let db = support::sqlite(&dir).await;
    rows_survive_both_ways(&db).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn stored_rows_move_to_market_ids_and_back_on_postgres() {
    let scratch = ScratchPostgres::create()
        .await
        .expect("PostgreSQL must be reachable (TICKMESH_TEST_DATABASE_URL)");
    let db = Database::connect(scratch.url()).await.unwrap();
    rows_survive_both_ways(&db).await;
    // Rolled back, the codes compare byte by byte again, as migration 6 made them.
    let sql = "SELECT count(*) AS n FROM information_schema.columns \
               WHERE column_name IN ('exchange', 'market') AND collation_name = 'C'";
    let row = db
        .query_one(Statement::from_string(db.get_database_backend(), sql))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.try_get::<i64>("", "n").unwrap(), 8);
    db.close().await.unwrap();
}
