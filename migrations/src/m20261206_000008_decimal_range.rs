//! One-minute candle sums kept within what a 96-bit decimal holds, on PostgreSQL.
//!
//! PostgreSQL merges candles in SQL, where `NUMERIC` sums never overflow; tickmesh reads them
//! back as 96-bit decimals (at most 79228162514264337593543950335), so a sum beyond that would
//! make the candle unreadable for every later history query. With these checks the statement
//! that would push a sum past the limit fails with SQLSTATE 23514 instead, and storage
//! dead-letters the trade that caused it. Every trade is within the domain's price and size
//! limits, so only hundreds of trades at those limits in one minute can get there.
//!
//! `NOT VALID`: rows already stored are not scanned (they were read back fine), so the
//! migration takes no long lock on a large table. SQLite merges candles in Rust with checked
//! sums (`Candle::merge`), so it needs no check.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

/// The largest magnitude a 96-bit decimal holds.
const DECIMAL_MAX: &str = "79228162514264337593543950335";

const CHECKS: [(&str, &str); 2] = [
    ("candles_1m_volume_in_range", "volume"),
    ("candles_1m_quote_volume_in_range", "quote_volume"),
];

// The trait's signature elides the lifetime; spelling it out would not match it.
#[allow(elided_lifetimes_in_paths)]
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        let db = manager.get_connection();
        for (name, column) in CHECKS {
            db.execute_unprepared(&format!(
                r#"ALTER TABLE "candles_1m" ADD CONSTRAINT "{name}" CHECK (abs("{column}") <= {DECIMAL_MAX}) NOT VALID"#
            ))
            .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        let db = manager.get_connection();
        for (name, _) in CHECKS {
            db.execute_unprepared(&format!(
                r#"ALTER TABLE "candles_1m" DROP CONSTRAINT IF EXISTS "{name}""#
            ))
            .await?;
        }
        Ok(())
    }
}
