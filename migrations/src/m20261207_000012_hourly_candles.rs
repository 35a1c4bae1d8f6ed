//! `candles_1h`: hourly candles kept beside the one-minute ones, on PostgreSQL.
//!
//! A year of 1d candles rolled up from minutes reads 525,600 rows per market; from hours it
//! reads 8,760. So PostgreSQL keeps every hour's candle as the roll-up of its minutes, and
//! history reads 1h and 1d candles from it.
//!
//! A trigger on `candles_1m` keeps it, so every writer of minutes keeps the hours too (storage
//! of any version during a rolling upgrade, or a hand repair): each inserted or updated minute
//! is merged into its hour under the hour's row lock, its sums as the difference the minute
//! changed by, so concurrent writers of one hour never lose each other's trades, and the hour
//! rows of one statement are locked in the order the statement writes its minutes.
//!
//! Each hour also keeps which minute its high and low came from (`high_minute_us`,
//! `low_minute_us`): equal prices can be spelled with different scales (`100.0`, `100.00`),
//! and the roll-up takes the earlier minute's spelling, whatever order the minutes were
//! written in. A minute's own newer value replaces its older one.
//!
//! Up creates the table, then the trigger (which locks writers of minutes out until the
//! migration commits), then fills the hours from the minutes already stored ([`REBUILD`]).
//! Deleting minutes does not change their hour; `REBUILD` after a hand delete recomputes the
//! hours from what is left. On SQLite this migration does nothing: it cannot merge decimals
//! exactly in SQL, and its hours are computed by storage instead (migration 13).

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{DbBackend, TransactionTrait};

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

/// Fixed-width columns first, as for the other market-data tables (migration 11).
const CREATE: &str = r#"
CREATE TABLE "candles_1h" (
    open_time_us bigint NOT NULL,
    trade_count bigint NOT NULL,
    first_trade_time_us bigint NOT NULL,
    first_trade_id bigint NOT NULL,
    last_trade_time_us bigint NOT NULL,
    last_trade_id bigint NOT NULL,
    high_minute_us bigint NOT NULL,
    low_minute_us bigint NOT NULL,
    market_id integer NOT NULL,
    open numeric NOT NULL,
    high numeric NOT NULL,
    low numeric NOT NULL,
    close numeric NOT NULL,
    volume numeric NOT NULL,
    quote_volume numeric NOT NULL,
    PRIMARY KEY (market_id, open_time_us),
    CONSTRAINT candles_1h_volume_in_range CHECK (abs(volume) <= 79228162514264337593543950335),
    CONSTRAINT candles_1h_quote_volume_in_range
        CHECK (abs(quote_volume) <= 79228162514264337593543950335)
)
"#;

/// The merge of one minute into its hour. `NEW` is the minute as written; on an update the
/// sums go in as what the minute gained, so the hour sums every minute exactly once.
const MERGE_FUNCTION: &str = r#"
CREATE FUNCTION candles_1h_merge() RETURNS trigger LANGUAGE plpgsql AS $merge$
DECLARE
    gained_volume numeric := NEW.volume;
    gained_quote_volume numeric := NEW.quote_volume;
    gained_trades bigint := NEW.trade_count;
BEGIN
    IF TG_OP = 'UPDATE' THEN
        gained_volume := NEW.volume - OLD.volume;
        gained_quote_volume := NEW.quote_volume - OLD.quote_volume;
        gained_trades := NEW.trade_count - OLD.trade_count;
    END IF;
    INSERT INTO "candles_1h" AS h
        (market_id, open_time_us, open, high, low, close, volume, quote_volume, trade_count,
         first_trade_time_us, first_trade_id, last_trade_time_us, last_trade_id,
         high_minute_us, low_minute_us)
    VALUES (NEW.market_id,
        NEW.open_time_us - ((NEW.open_time_us % 3600000000) + 3600000000) % 3600000000,
        NEW.open, NEW.high, NEW.low, NEW.close, gained_volume, gained_quote_volume,
        gained_trades, NEW.first_trade_time_us, NEW.first_trade_id, NEW.last_trade_time_us,
        NEW.last_trade_id, NEW.open_time_us, NEW.open_time_us)
    ON CONFLICT (market_id, open_time_us) DO UPDATE SET
        open = CASE WHEN (EXCLUDED.first_trade_time_us, EXCLUDED.first_trade_id)
            <= (h.first_trade_time_us, h.first_trade_id) THEN EXCLUDED.open ELSE h.open END,
        first_trade_time_us = CASE WHEN (EXCLUDED.first_trade_time_us, EXCLUDED.first_trade_id)
            <= (h.first_trade_time_us, h.first_trade_id)
            THEN EXCLUDED.first_trade_time_us ELSE h.first_trade_time_us END,
        first_trade_id = CASE WHEN (EXCLUDED.first_trade_time_us, EXCLUDED.first_trade_id)
            <= (h.first_trade_time_us, h.first_trade_id)
            THEN EXCLUDED.first_trade_id ELSE h.first_trade_id END,
        close = CASE WHEN (EXCLUDED.last_trade_time_us, EXCLUDED.last_trade_id)
            >= (h.last_trade_time_us, h.last_trade_id) THEN EXCLUDED.close ELSE h.close END,
        last_trade_time_us = CASE WHEN (EXCLUDED.last_trade_time_us, EXCLUDED.last_trade_id)
            >= (h.last_trade_time_us, h.last_trade_id)
            THEN EXCLUDED.last_trade_time_us ELSE h.last_trade_time_us END,
        last_trade_id = CASE WHEN (EXCLUDED.last_trade_time_us, EXCLUDED.last_trade_id)
            >= (h.last_trade_time_us, h.last_trade_id)
            THEN EXCLUDED.last_trade_id ELSE h.last_trade_id END,
        high = CASE WHEN (EXCLUDED.high, -EXCLUDED.high_minute_us) >= (h.high, -h.high_minute_us)
            THEN EXCLUDED.high ELSE h.high END,
        high_minute_us = CASE WHEN (EXCLUDED.high, -EXCLUDED.high_minute_us)
            >= (h.high, -h.high_minute_us) THEN EXCLUDED.high_minute_us ELSE h.high_minute_us END,
        low = CASE WHEN (EXCLUDED.low, EXCLUDED.low_minute_us) <= (h.low, h.low_minute_us)
            THEN EXCLUDED.low ELSE h.low END,
        low_minute_us = CASE WHEN (EXCLUDED.low, EXCLUDED.low_minute_us)
            <= (h.low, h.low_minute_us) THEN EXCLUDED.low_minute_us ELSE h.low_minute_us END,
        volume = h.volume + EXCLUDED.volume,
        quote_volume = h.quote_volume + EXCLUDED.quote_volume,
        trade_count = h.trade_count + EXCLUDED.trade_count;
    RETURN NULL;
END
$merge$
"#;

const TRIGGER: &str = r#"
CREATE TRIGGER candles_1h_merge AFTER INSERT OR UPDATE ON "candles_1m"
    FOR EACH ROW EXECUTE FUNCTION candles_1h_merge()
"#;

/// Recomputes every hour from the stored minutes, as history's roll-up does: the open of the
/// earliest first trade, the close of the latest last trade, the earlier minute's high and low
/// on a tie, exact `NUMERIC` sums. Run by up, and by anyone who changed minutes by hand with
/// the trigger disabled (a bulk load does that).
pub const REBUILD: &str = r#"
DELETE FROM "candles_1h";
INSERT INTO "candles_1h"
    (market_id, open_time_us, open, high, low, close, volume, quote_volume, trade_count,
     first_trade_time_us, first_trade_id, last_trade_time_us, last_trade_id,
     high_minute_us, low_minute_us)
SELECT market_id, hour, o[4], h[1], l[1], c[4], volume, quote_volume, trade_count,
    o[1], o[2], c[1], c[2], -h[2], l[2]
FROM (
    SELECT market_id,
        open_time_us - ((open_time_us % 3600000000) + 3600000000) % 3600000000 AS hour,
        min(ARRAY[first_trade_time_us, first_trade_id, open_time_us, open]) AS o,
        max(ARRAY[high, -open_time_us]) AS h,
        min(ARRAY[low, open_time_us]) AS l,
        max(ARRAY[last_trade_time_us, last_trade_id, -open_time_us, close]) AS c,
        sum(volume) AS volume,
        sum(quote_volume) AS quote_volume,
        sum(trade_count) AS trade_count
    FROM "candles_1m"
    GROUP BY 1, 2
) AS m
ORDER BY market_id, hour
"#;

// The trait's signature elides the lifetime; spelling it out would not match it.
#[allow(elided_lifetimes_in_paths)]
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        // One transaction: the hours are filled from exactly the minutes the trigger did not see.
        let txn = manager.get_connection().begin().await?;
        for sql in [CREATE, MERGE_FUNCTION, TRIGGER, REBUILD] {
            txn.execute_unprepared(sql).await?;
        }
        txn.commit().await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        let db = manager.get_connection();
        db.execute_unprepared(
            r#"DROP TRIGGER IF EXISTS candles_1h_merge ON "candles_1m";
               DROP FUNCTION IF EXISTS candles_1h_merge();
               DROP TABLE IF EXISTS "candles_1h";"#,
        )
        .await?;
        Ok(())
    }
}
