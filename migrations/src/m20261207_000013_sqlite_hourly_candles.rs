//! `candles_1h` on SQLite: hourly candles for the embedded store, kept fresh by storage.
//!
//! PostgreSQL merges each minute into its hour in a trigger (migration 12). SQLite cannot:
//! its decimals are `TEXT`, and it has no exact decimal arithmetic to add or compare them. So
//! on SQLite the hours are computed in Rust (storage's `hours` task, with the same roll-up as
//! history), and what SQL keeps is only *which* hours need it:
//!
//! * `candles_1h` holds an hour's candle in the columns of `candles_1m`, `open_time_us` the
//!   start of the hour.
//! * `candles_1h_stale` lists the hours whose minutes changed since their candle was computed
//!   (or that never had one). Triggers on `candles_1m` add the hour of every inserted, updated
//!   or deleted minute, so every writer of minutes (storage, a hand repair, a bulk load) marks
//!   what it touched; a mark is a key, which SQL can compute exactly.
//!
//! History reads a stale hour from its minutes and a fresh one from `candles_1h`, so answers
//! never depend on how far the task has got. Up marks every hour that has minutes, which the
//! task then computes a bounded batch at a time. PostgreSQL: nothing (migration 12).

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{DbBackend, TransactionTrait};

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

/// The hour of a minute, `HOUR_OF(t)`: its start, also before 1970 (SQLite's `%` keeps the
/// dividend's sign).
macro_rules! hour_of {
    ($t:literal) => {
        concat!(
            "(",
            $t,
            " - ((",
            $t,
            " % 3600000000) + 3600000000) % 3600000000)"
        )
    };
}

const CREATE: &str = r#"
CREATE TABLE "candles_1h" (
    market_id integer NOT NULL,
    open_time_us bigint NOT NULL,
    open text NOT NULL,
    high text NOT NULL,
    low text NOT NULL,
    close text NOT NULL,
    volume text NOT NULL,
    quote_volume text NOT NULL,
    trade_count bigint NOT NULL,
    first_trade_time_us bigint NOT NULL,
    first_trade_id bigint NOT NULL,
    last_trade_time_us bigint NOT NULL,
    last_trade_id bigint NOT NULL,
    PRIMARY KEY (market_id, open_time_us)
) WITHOUT ROWID;
CREATE TABLE "candles_1h_stale" (
    market_id integer NOT NULL,
    open_time_us bigint NOT NULL,
    PRIMARY KEY (market_id, open_time_us)
) WITHOUT ROWID;
"#;

const TRIGGERS: &str = concat!(
    r#"CREATE TRIGGER candles_1h_stale_insert AFTER INSERT ON "candles_1m" BEGIN
    INSERT INTO "candles_1h_stale" (market_id, open_time_us)
    VALUES (NEW.market_id, "#,
    hour_of!("NEW.open_time_us"),
    r#") ON CONFLICT DO NOTHING;
END;
CREATE TRIGGER candles_1h_stale_update AFTER UPDATE ON "candles_1m" BEGIN
    INSERT INTO "candles_1h_stale" (market_id, open_time_us)
    VALUES (OLD.market_id, "#,
    hour_of!("OLD.open_time_us"),
    r#"), (NEW.market_id, "#,
    hour_of!("NEW.open_time_us"),
    r#") ON CONFLICT DO NOTHING;
END;
CREATE TRIGGER candles_1h_stale_delete AFTER DELETE ON "candles_1m" BEGIN
    INSERT INTO "candles_1h_stale" (market_id, open_time_us)
    VALUES (OLD.market_id, "#,
    hour_of!("OLD.open_time_us"),
    r#") ON CONFLICT DO NOTHING;
END;
"#
);

/// Every hour that has minutes is stale until storage computes it. The triggers use an upsert,
/// not `INSERT OR IGNORE`: a trigger's `OR` clause gives way to the conflict rule of the
/// statement that fired it, and storage writes minutes with one.
const MARK_ALL: &str = concat!(
    r#"INSERT INTO "candles_1h_stale" (market_id, open_time_us)
SELECT DISTINCT market_id, "#,
    hour_of!("open_time_us"),
    r#" FROM "candles_1m" WHERE true ON CONFLICT DO NOTHING"#
);

// The trait's signature elides the lifetime; spelling it out would not match it.
#[allow(elided_lifetimes_in_paths)]
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DbBackend::Sqlite {
            return Ok(());
        }
        let txn = manager.get_connection().begin().await?;
        for sql in [CREATE, TRIGGERS, MARK_ALL] {
            txn.execute_unprepared(sql).await?;
        }
        txn.commit().await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DbBackend::Sqlite {
            return Ok(());
        }
        manager
            .get_connection()
            .execute_unprepared(
                r#"DROP TRIGGER IF EXISTS candles_1h_stale_insert;
                   DROP TRIGGER IF EXISTS candles_1h_stale_update;
                   DROP TRIGGER IF EXISTS candles_1h_stale_delete;
                   DROP TABLE IF EXISTS "candles_1h_stale";
                   DROP TABLE IF EXISTS "candles_1h";"#,
            )
            .await?;
        Ok(())
    }
}
