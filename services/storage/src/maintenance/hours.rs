//! Hourly candles on SQLite: the hours its triggers marked stale, computed from their minutes.
//!
//! SQLite cannot add or compare its `TEXT` decimals exactly, so it cannot merge a minute into
//! its hour the way PostgreSQL's trigger does. Its triggers only mark the hour of every minute
//! written as stale (`candles_1h_stale`, see the migrations), and this task computes those
//! hours in Rust with history's own roll-up ([`Candle::merge`] in minute order) and clears
//! their marks, a bounded batch per transaction so storage's writes never wait long for
//! SQLite's one write lock. Until an hour is computed, history reads it from its minutes, so
//! the task only makes long ranges cheaper, never different.
//!
//! A batch begins with the delete of its marks, which takes the write lock first: a minute
//! written after the batch read the minutes marks its hour again and waits for the commit.

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Duration;

use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement, TransactionTrait, Value};
use tickmesh_domain::{CandleInterval, UtcMicros, format_decimal};
use tickmesh_telemetry::ErrorChain;

use super::MaintenanceStats;
use crate::StorageError;
use crate::history::candles::sqlite::{PIECE_1M, fold};

/// Hours computed per transaction: at most 60 minutes each, a few milliseconds in all.
pub const HOURS_PER_BATCH: u32 = 100;

/// How often the task looks for stale hours, and the pause between two full batches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HoursConfig {
    /// The time between two looks when the last found less than a full batch.
    pub every: Duration,
    /// The pause after a full batch, in which writers get the lock.
    pub pause: Duration,
}

impl Default for HoursConfig {
    fn default() -> HoursConfig {
        HoursConfig {
            every: Duration::from_secs(10),
            pause: Duration::from_millis(20),
        }
    }
}

/// Computes up to `limit` stale hours, oldest first, in one transaction: each hour's candle
/// from its minutes, or no candle when it has none left. Returns how many hours it computed.
pub async fn refresh_batch(db: &DatabaseConnection, limit: u32) -> Result<u64, StorageError> {
    let backend = DbBackend::Sqlite;
    // A read first, so a round with nothing to do never takes the write lock.
    let any = db
        .query_one(Statement::from_string(
            backend,
            "SELECT 1 AS one FROM candles_1h_stale LIMIT 1",
        ))
        .await?;
    if any.is_none() {
        return Ok(0);
    }
    let txn = db.begin().await?;
    let marked = txn
        .query_all(Statement::from_string(
            backend,
            format!(
                "DELETE FROM candles_1h_stale WHERE (market_id, open_time_us) IN \
                 (SELECT market_id, open_time_us FROM candles_1h_stale \
                  ORDER BY open_time_us, market_id LIMIT {limit}) \
                 RETURNING market_id, open_time_us"
            ),
        ))
        .await?;
    if marked.is_empty() {
        txn.commit().await?;
        return Ok(0);
    }
    let mut hours = String::new();
    for row in &marked {
        let market: i32 = row.try_get("", "market_id")?;
        let hour: i64 = row.try_get("", "open_time_us")?;
        let sep = if hours.is_empty() { "" } else { ", " };
        // Integers read from the table: nothing here is text from outside.
        let _ = write!(hours, "{sep}({market}, {hour})");
    }
    let rows = txn
        .query_all(Statement::from_string(
            backend,
            format!(
                "WITH hours(market_id, open_time_us) AS (VALUES {hours}) \
                 SELECT hours.market_id AS market_id, hours.open_time_us AS hour, \
                 group_concat({PIECE_1M}, ',' ORDER BY m.open_time_us) AS minutes \
                 FROM hours LEFT JOIN candles_1m AS m ON m.market_id = hours.market_id \
                 AND m.open_time_us >= hours.open_time_us \
                 AND m.open_time_us < hours.open_time_us + 3600000000 \
                 GROUP BY hours.market_id, hours.open_time_us"
            ),
        ))
        .await?;
    for row in &rows {
        let market: i32 = row.try_get("", "market_id")?;
        let hour: i64 = row.try_get("", "hour")?;
        let minutes: Option<String> = row.try_get("", "minutes")?;
        let Some(minutes) = minutes else {
            txn.execute(Statement::from_sql_and_values(
                backend,
                "DELETE FROM candles_1h WHERE market_id = $1 AND open_time_us = $2",
                [market.into(), hour.into()],
            ))
            .await?;
            continue;
        };
        let candle = fold(UtcMicros(hour), &minutes, CandleInterval::OneHour)
            .map_err(|e| StorageError::invalid_row("candles_1h", "open_time_us", ErrorChain(&e)))?;
        let id = |column, id: u64| {
            i64::try_from(id).map_err(|_| {
                StorageError::invalid_row("candles_1h", column, format!("trade id {id}"))
            })
        };
        let dec = |d| Value::from(format_decimal(d));
        txn.execute(Statement::from_sql_and_values(
            backend,
            "INSERT OR REPLACE INTO candles_1h (market_id, open_time_us, open, high, low, close, \
             volume, quote_volume, trade_count, first_trade_time_us, first_trade_id, \
             last_trade_time_us, last_trade_id) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
            [
                market.into(),
                hour.into(),
                dec(candle.open),
                dec(candle.high),
                dec(candle.low),
                dec(candle.close),
                dec(candle.volume),
                dec(candle.quote_volume),
                // The sum of stored counts, each within i64.
                i64::try_from(candle.trade_count).unwrap_or(i64::MAX).into(),
                candle.first_trade.0.as_micros().into(),
                id("first_trade_id", candle.first_trade.1.0)?.into(),
                candle.last_trade.0.as_micros().into(),
                id("last_trade_id", candle.last_trade.1.0)?.into(),
            ],
        ))
        .await?;
    }
    txn.commit().await?;
    Ok(marked.len() as u64)
}

/// Computes every stale hour, a batch at a time with `pause` between full batches, counting
/// them in `stats`; how many.
pub async fn refresh(
    db: &DatabaseConnection,
    pause: Duration,
    stats: &MaintenanceStats,
) -> Result<u64, StorageError> {
    let mut done = 0;
    loop {
        let n = refresh_batch(db, HOURS_PER_BATCH).await?;
        stats.computed_hours(n);
        done += n;
        if n < u64::from(HOURS_PER_BATCH) {
            return Ok(done);
        }
        tokio::time::sleep(pause).await;
    }
}

/// Keeps SQLite's hourly candles until the task is dropped: [`refresh`] every `config.every`.
/// A failed round is logged and counted; the next one tries again.
pub async fn run(db: DatabaseConnection, config: HoursConfig, stats: Arc<MaintenanceStats>) {
    let mut ticks = tokio::time::interval(config.every.max(Duration::from_millis(100)));
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        if let Err(e) = refresh(&db, config.pause, &stats).await {
            stats.failed();
            tracing::warn!(
                error = %ErrorChain(&e),
                "cannot compute hourly candles; history reads those hours from their minutes until the next round"
            );
        }
    }
}
