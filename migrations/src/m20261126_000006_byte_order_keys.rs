//! Exchange and market codes compared byte by byte (`COLLATE "C"`) on PostgreSQL.
//!
//! Every market-data table is keyed on (exchange, market, ...), so every insert compares these
//! two text columns along the primary key's B-tree. Under a database's usual default collation
//! (`en_US.UTF-8`, or `C.UTF-8` as on Debian) each comparison goes through the C library's
//! locale-aware `strcoll`; `perf` on PostgreSQL under `tickmesh bench` showed those
//! comparisons and their setup as the largest share of its work. The codes are ASCII
//! (`upbit`, `BTC/KRW`), so byte order changes neither equality nor any order a user sees.
//!
//! SQLite compares bytes already (its default `BINARY` collation): nothing to do there.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

/// The tables keyed on exchange and market.
const TABLES: [&str; 4] = ["trades", "tickers", "orderbook_snapshots", "candles_1m"];

async fn collate(manager: &SchemaManager<'_>, collation: &str) -> Result<(), DbErr> {
    if manager.get_database_backend() != DbBackend::Postgres {
        return Ok(());
    }
    let db = manager.get_connection();
    for table in TABLES {
        // Rewrites the table's indexes under the new collation.
        db.execute_unprepared(&format!(
            r#"ALTER TABLE "{table}" ALTER COLUMN "exchange" TYPE text COLLATE {collation}, ALTER COLUMN "market" TYPE text COLLATE {collation}"#
        ))
        .await?;
    }
    Ok(())
}

// The trait's signature elides the lifetime; spelling it out would not match it.
#[allow(elided_lifetimes_in_paths)]
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        collate(manager, r#""C""#).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        collate(manager, r#""default""#).await
    }
}
