//! Database migrations (sea-orm-migration) for PostgreSQL and SQLite.
//!
//! The same migrations run on both backends. They differ in one place only:
//! decimal columns are `NUMERIC` on PostgreSQL and `TEXT` on SQLite. A SQLite column declared
//! `DECIMAL`, `NUMERIC` or `REAL` has numeric affinity and turns the text of a price into a
//! binary float on insert, so `0.00079276` would come back rounded; `TEXT` affinity keeps the
//! exact digits and scale. `tickmesh-storage` reads both forms back exactly.
//!
//! Every market-data table is keyed on its natural key (the market and a trade id or a time),
//! which is what lets storage write idempotently with `ON CONFLICT`. The market is a small
//! integer id that `markets` gives each (exchange, market) pair (migration 7 says why).
//! Trades and tickers also keep their position in the durable stream, for stream clients
//! resuming from further back than the stream holds (migration 9). On PostgreSQL the trades,
//! tickers and order book snapshots are partitioned by exchange time, for retention by whole
//! partitions, and `retention_marks` records what retention dropped (migration 10). Their
//! fixed-width columns come first, so rows carry no alignment padding (migration 11).
//! PostgreSQL also keeps hourly candles, merged from the minutes by a trigger, for long-range
//! candle reads (migration 12); SQLite keeps them too, computed by storage from the hours its
//! triggers mark stale (migration 13).
//!
//! # Layout
//! * [`Migrator`]: the ordered migrations, one module each.
//! * [`migrate`]: applies what is pending and says how many were applied.
//! * `testing` (feature `testing`): scratch PostgreSQL databases for tests.

mod columns;
mod m20260101_000001_subscriptions;
mod m20260101_000002_trades;
mod m20260101_000003_tickers;
mod m20260101_000004_orderbook_snapshots;
mod m20260101_000005_candles_1m;
mod m20261126_000006_byte_order_keys;
mod m20261126_000007_market_ids;
mod m20261206_000008_decimal_range;
mod m20261206_000009_stream_positions;
mod m20261207_000010_time_partitions;
mod m20261207_000011_compact_rows;
mod m20261207_000012_hourly_candles;
mod m20261207_000013_sqlite_hourly_candles;

#[cfg(feature = "testing")]
pub mod testing;

pub use m20261207_000012_hourly_candles::REBUILD as REBUILD_HOURLY_CANDLES;

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{
    ConnectionTrait, DatabaseConnection, DbBackend, Statement, TransactionTrait,
};

/// Every tickmesh migration, oldest first.
#[derive(Debug, Clone, Copy, Default)]
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20260101_000001_subscriptions::Migration),
            Box::new(m20260101_000002_trades::Migration),
            Box::new(m20260101_000003_tickers::Migration),
            Box::new(m20260101_000004_orderbook_snapshots::Migration),
            Box::new(m20260101_000005_candles_1m::Migration),
            Box::new(m20261126_000006_byte_order_keys::Migration),
            Box::new(m20261126_000007_market_ids::Migration),
            Box::new(m20261206_000008_decimal_range::Migration),
            Box::new(m20261206_000009_stream_positions::Migration),
            Box::new(m20261207_000010_time_partitions::Migration),
            Box::new(m20261207_000011_compact_rows::Migration),
            Box::new(m20261207_000012_hourly_candles::Migration),
            Box::new(m20261207_000013_sqlite_hourly_candles::Migration),
        ]
    }
}

/// Applies every pending migration and returns how many were applied (0 when the schema was
/// already current).
///
/// Fails when the database holds a migration this build does not know, which means an older
/// binary is pointed at a newer schema.
///
/// Processes starting together (replicas, or every service of a fresh deployment) would race
/// to create the same tables and fail on PostgreSQL's catalog constraints. On PostgreSQL a
/// transaction-scoped advisory lock, taken on one pooled connection, serialises them: the
/// migrations run on the pool's other connections, and whoever comes second finds nothing
/// pending. SQLite needs no lock: its single writer already serialises schema changes.
pub async fn migrate(db: &DatabaseConnection) -> Result<usize, DbErr> {
    let lock = if db.get_database_backend() == DbBackend::Postgres {
        let txn = db.begin().await?;
        txn.execute(Statement::from_string(
            DbBackend::Postgres,
            format!("SELECT pg_advisory_xact_lock({MIGRATION_LOCK})"),
        ))
        .await?;
        Some(txn)
    } else {
        None
    };
    let before = Migrator::get_applied_migrations(db).await?.len();
    Migrator::up(db, None).await?;
    let after = Migrator::get_applied_migrations(db).await?.len();
    if let Some(txn) = lock {
        // Ending the transaction releases the lock.
        txn.commit().await?;
    }
    Ok(after.saturating_sub(before))
}

/// Key of the PostgreSQL advisory lock held while migrating (the bytes of "tickmig").
const MIGRATION_LOCK: i64 = 0x0074_6963_6b6d_6967;
