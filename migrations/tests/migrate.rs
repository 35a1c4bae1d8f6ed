//! The migrations apply on fresh SQLite and PostgreSQL databases, are idempotent, and roll back.

// Helpers outside #[test] functions unwrap too: a panic is how a test reports failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use sea_orm_migration::MigratorTrait;
use sea_orm_migration::sea_orm::{ConnectionTrait, Database, DatabaseConnection, Statement};
use tickmesh_migrations::testing::ScratchPostgres;
use tickmesh_migrations::{Migrator, migrate};

const TABLES: [&str; 7] = [
    "subscriptions",
    "markets",
    "trades",
    "tickers",
    "orderbook_snapshots",
    "candles_1m",
    "retention_marks",
];

/// Migrations in this build: one per table, the byte-order key columns, the market ids, the
/// candle sums' range, the stream positions, the time partitions, compact rows, and hourly
/// candles on PostgreSQL and on SQLite.
const MIGRATIONS: usize = 13;

/// The market columns of the market-data tables, in table order.
async fn market_columns(db: &DatabaseConnection) -> Vec<String> {
    let sql = "SELECT table_name::text || '.' || column_name::text AS c \
               FROM information_schema.columns \
               WHERE column_name IN ('exchange', 'market', 'market_id') \
               AND table_name IN ('trades', 'tickers', 'orderbook_snapshots', 'candles_1m') \
               ORDER BY 1";
    let rows = db
        .query_all(Statement::from_string(db.get_database_backend(), sql))
        .await
        .unwrap();
    rows.iter()
        .map(|r| {
            let c: String = r.try_get("", "c").unwrap();
            c.split('.').nth(1).unwrap().to_owned()
        })
        .collect()
}

async fn count(db: &DatabaseConnection, table: &str) -> i64 {
    let sql = format!("SELECT COUNT(*) AS n FROM {table}");
    let row = db
        .query_one(Statement::from_string(db.get_database_backend(), sql))
        .await
        .unwrap()
        .unwrap();
    row.try_get::<i64>("", "n").unwrap()
}

/// Every table exists and is empty, and the natural keys reject duplicates.
async fn check_schema(db: &DatabaseConnection) {
    for table in TABLES {
        assert_eq!(count(db, table).await, 0, "{table}");
    }
    let insert = "INSERT INTO subscriptions (exchange, market, created_at_us) \
                  VALUES ('upbit', 'BTC/KRW', 1)";
    db.execute_unprepared(insert).await.unwrap();
    let err = db.execute_unprepared(insert).await.unwrap_err();
    assert!(
        err.to_string().to_lowercase().contains("unique")
            || err.to_string().contains("duplicate key"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn migrations_apply_once_and_roll_back_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let db = support::sqlite(&dir).await;
    assert_eq!(migrate(&db).await.unwrap(), MIGRATIONS);
    assert_eq!(migrate(&db).await.unwrap(), 0);
    check_schema(&db).await;

    Migrator::down(&db, None).await.unwrap();
    for table in TABLES {
        let sql = format!("SELECT COUNT(*) FROM {table}");
        assert!(
            db.execute_unprepared(&sql).await.is_err(),
            "{table} remains"
        );
    }
    assert_eq!(migrate(&db).await.unwrap(), MIGRATIONS);
}

#[tokio::test(flavor = "multi_thread")]
async fn migrations_apply_once_on_postgres() {
    let scratch = ScratchPostgres::create()
        .await
        .expect("PostgreSQL must be reachable (TICKMESH_TEST_DATABASE_URL)");
    let db = Database::connect(scratch.url()).await.unwrap();
    assert_eq!(migrate(&db).await.unwrap(), MIGRATIONS);
    assert_eq!(migrate(&db).await.unwrap(), 0);
    check_schema(&db).await;
    // The market-data tables are keyed on the market id, not on the codes, and the codes
    // in `markets` compare byte by byte, as they did in the tables.
    assert_eq!(market_columns(&db).await, ["market_id"; 4]);
    let sql = "SELECT count(*) AS n FROM information_schema.columns \
               WHERE table_name = 'markets' AND collation_name = 'C'";
    let row = db
        .query_one(Statement::from_string(db.get_database_backend(), sql))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.try_get::<i64>("", "n").unwrap(), 2);
    db.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn services_starting_together_migrate_once_without_failing() {
    let scratch = ScratchPostgres::create()
        .await
        .expect("PostgreSQL must be reachable (TICKMESH_TEST_DATABASE_URL)");
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..4 {
        let db = Database::connect(scratch.url()).await.unwrap();
        tasks.spawn(async move { migrate(&db).await });
    }
    let mut applied = Vec::new();
    while let Some(done) = tasks.join_next().await {
        applied.push(done.unwrap().unwrap());
    }
    // Exactly one process applied everything; the others found nothing pending.
    assert_eq!(applied.iter().sum::<usize>(), MIGRATIONS, "{applied:?}");
    assert_eq!(applied.iter().filter(|&&n| n > 0).count(), 1, "{applied:?}");
    check_schema(&Database::connect(scratch.url()).await.unwrap()).await;
}
