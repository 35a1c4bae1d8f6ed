//! Migration 9 gives trades and tickers a nullable stream position with an index for reads by
//! position range, keeps the rows stored before it (with no position), and rolls back, on
//! both backends.

// Helpers outside #[test] functions unwrap too: a panic is how a test reports failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use sea_orm_migration::MigratorTrait;
use sea_orm_migration::sea_orm::{
    ConnectionTrait, Database, DatabaseConnection, DbBackend, Statement,
};
use support::strings;
use tickmesh_migrations::Migrator;
use tickmesh_migrations::testing::ScratchPostgres;

/// Rows stored before migration 9.
const OLD_ROWS: [&str; 3] = [
    "INSERT INTO markets (id, exchange, market) VALUES (1, 'upbit', 'BTC/KRW')",
    "INSERT INTO trades VALUES (1, 7, 100.50, 0.0010, 'buy', 1, 2)",
    "INSERT INTO tickers (market_id, exchange_time_us, received_time_us, last) \
     VALUES (1, 10, 11, 0.00079276)",
];

/// The position of every row of `table`, ordered by it, `null` where there is none.
async fn positions(db: &DatabaseConnection, table: &str) -> Vec<String> {
    let sql = format!(
        "SELECT coalesce(cast(position as text), 'null') AS r FROM {table} ORDER BY position"
    );
    strings(db, &sql).await
}

/// The names of the position indexes.
async fn position_indexes(db: &DatabaseConnection) -> Vec<String> {
    let sql = match db.get_database_backend() {
        DbBackend::Postgres => {
            "SELECT indexname::text AS r FROM pg_indexes WHERE indexname LIKE '%position%' \
             ORDER BY 1"
        }
        _ => {
            "SELECT name AS r FROM sqlite_master WHERE type = 'index' \
             AND name LIKE '%position%' ORDER BY 1"
        }
    };
    strings(db, sql).await
}

async fn positions_added_and_rolled_back(db: &DatabaseConnection) {
    Migrator::up(db, Some(8)).await.unwrap();
    for insert in OLD_ROWS {
        db.execute_unprepared(insert).await.unwrap();
    }
    // Migration 9 alone: the later ones rebuild these tables.
    Migrator::up(db, Some(1)).await.unwrap();
    assert_eq!(
        position_indexes(db).await,
        ["ix_tickers_position", "ix_trades_position"]
    );
    // Rows stored before keep no position; new rows may have one or none.
    db.execute_unprepared(
        "INSERT INTO trades VALUES (1, 8, 101, 1, 'sell', 3, 4, 1765000000123000007), \
         (1, 9, 102, 1, 'sell', 5, 6, NULL)",
    )
    .await
    .unwrap();
    db.execute_unprepared(
        "INSERT INTO tickers (market_id, exchange_time_us, received_time_us, last, position) \
         VALUES (1, 12, 13, 1, 1765000000124000000)",
    )
    .await
    .unwrap();
    assert_eq!(
        positions(db, "trades")
            .await
            .iter()
            .filter(|p| *p == "null")
            .count(),
        2
    );
    assert!(
        positions(db, "trades")
            .await
            .contains(&"1765000000123000007".to_owned())
    );
    assert!(
        positions(db, "tickers")
            .await
            .contains(&"1765000000124000000".to_owned())
    );

    Migrator::down(db, Some(1)).await.unwrap();
    assert!(position_indexes(db).await.is_empty());
    assert!(
        db.execute_unprepared("SELECT position FROM trades")
            .await
            .is_err()
    );
    let trades = strings(
        db,
        "SELECT cast(trade_id as text) AS r FROM trades ORDER BY 1",
    )
    .await;
    assert_eq!(trades, ["7", "8", "9"]);
    Migrator::up(db, Some(1)).await.unwrap();
    assert_eq!(positions(db, "tickers").await, ["null", "null"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn positions_are_added_and_rolled_back_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let db = support::sqlite(&dir).await;
    positions_added_and_rolled_back(&db).await;

    // A read by position range walks the position index, also with a market filter that the
    // primary key could serve (the reader disqualifies it with a unary `+`).
    let sql = "EXPLAIN QUERY PLAN SELECT * FROM trades \
               WHERE position > 1 AND position <= 5 AND +market_id IN (1, 2) \
               ORDER BY position LIMIT 10";
    let plan: Vec<String> = db
        .query_all(Statement::from_string(DbBackend::Sqlite, sql))
        .await
        .unwrap()
        .iter()
        .map(|r| r.try_get::<String>("", "detail").unwrap())
        .collect();
    assert!(
        plan.iter().any(|d| d.contains("ix_trades_position")),
        "{plan:?}"
    );
    assert!(!plan.iter().any(|d| d.contains("TEMP B-TREE")), "{plan:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn positions_are_added_and_rolled_back_on_postgres() {
    let scratch = ScratchPostgres::create()
        .await
        .expect("PostgreSQL must be reachable (TICKMESH_TEST_DATABASE_URL)");
    let db = Database::connect(scratch.url()).await.unwrap();
    positions_added_and_rolled_back(&db).await;
    db.close().await.unwrap();
}
