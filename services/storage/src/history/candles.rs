//! Candles at every served interval, rolled up from `candles_1m`, and what a range may cost.
//!
//! Storage keeps one-minute candles; larger intervals are rolled up with the semantics of
//! [`Candle::roll_up`]: open of the first minute, close of the last, highest high, lowest low,
//! volumes and trade counts summed. Buckets start at UTC epoch multiples of the interval, so
//! hours start on the hour and days at 00:00 UTC.
//!
//! A query returns every bucket that starts in `[floor(start), end)`, where `floor` is the
//! start of the bucket holding `start`, and each bucket is complete: it holds all of its
//! minutes, also those at or after `end`. Buckets without trades are absent, not zero-filled.
//!
//! A range may span at most [`MAX_CANDLES`] buckets, which bounds the answer, and cover at most
//! `max_rows` one-minute rows over all the exchanges it reads ([`Span::new`]), which bounds the
//! work: a week of 1d candles reads 10,080 minutes, not 7.
//!
//! Where the roll-up runs depends on the backend, because prices must stay exact:
//! * **PostgreSQL** aggregates each bucket in SQL ([`postgres`]) and sends one row per
//!   bucket: `NUMERIC` sums, maxima and minima are exact. It also keeps each hour's candle,
//!   the roll-up of its minutes (`candles_1h`, see the migrations), and rolls 1h and 1d
//!   buckets up from those: a year of 1d candles reads 8,760 rows instead of 525,600.
//! * **SQLite** stores decimals as `TEXT` (see [`decimal`](crate::decimal)), and has no exact
//!   decimal arithmetic: `sum()` and `total()` read text as 64-bit floats (so
//!   `158201000.00000001` loses its last digit) and `max()`/`min()` compare text as text (`'9'`
//!   above `'10'`). So SQLite groups the minutes by bucket and hands each bucket's minutes
//!   over as one text, which [`sqlite`] folds with [`Candle::merge`] itself. It keeps hours
//!   too, computed in Rust by [`crate::maintenance::hours`] from the hours its triggers mark
//!   stale; a stale hour is read from its minutes.

mod postgres;
pub(crate) mod sqlite;

use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, QueryFilter, QueryOrder, Statement,
};
use tickmesh_domain::{Candle, CandleInterval, Exchange, Market, UtcMicros};

use super::{HistoryError, check_range};
use crate::entity::{candles_1m, of_market, select_exact};

/// The most buckets one range may span (a week of minutes, 416 days of hours).
pub const MAX_CANDLES: i64 = 10_000;

/// Microseconds in the stored resolution, one minute.
const MINUTE: i128 = 60_000_000;

/// Microseconds in an hour, the resolution PostgreSQL also keeps.
const HOUR: i64 = 3_600_000_000;

fn width(interval: CandleInterval) -> i128 {
    interval.duration().as_micros() as i128
}

fn floor(t: i128, w: i128) -> i128 {
    t - t.rem_euclid(w)
}

fn clamp(t: i128) -> UtcMicros {
    // Lossless after the clamp: the value is within i64.
    UtcMicros(t.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64)
}

/// The buckets a range without a start gets: as many before `end` as both limits allow,
/// [`MAX_CANDLES`] and `max_rows` one-minute rows over `exchanges` exchanges, and at least one.
fn default_buckets(interval: CandleInterval, max_rows: u64, exchanges: u32) -> i128 {
    let per_bucket = (width(interval) / MINUTE) * i128::from(exchanges.max(1));
    (i128::from(max_rows) / per_bucket).clamp(1, i128::from(MAX_CANDLES))
}

/// The start of the longest range ending at `end` that a call reading `exchanges` exchanges may
/// ask for: [`MAX_CANDLES`] buckets of `interval`, or fewer when more would cover over
/// `max_rows` one-minute rows. What a request without a start time gets.
pub fn default_start(
    interval: CandleInterval,
    end: UtcMicros,
    max_rows: u64,
    exchanges: u32,
) -> UtcMicros {
    let w = width(interval);
    let last = floor(i128::from(end.as_micros()) - 1, w);
    clamp(last - (default_buckets(interval, max_rows, exchanges) - 1) * w)
}

/// The one-minute rows that fill the buckets of a range: `[first, stop)`, whole buckets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Span {
    /// The bucket width.
    pub(crate) interval: CandleInterval,
    /// Start of the first bucket.
    pub(crate) first: UtcMicros,
    /// End of the last bucket.
    pub(crate) stop: UtcMicros,
}

impl Span {
    /// The span of `[start, end)` for a call reading `exchanges` exchanges' minutes. Errors
    /// name `end_time` when `start >= end`, and `start_time` when the range spans more than
    /// [`MAX_CANDLES`] buckets or more than `max_rows` one-minute rows in all; and the time
    /// whose bucket reaches past what `i64` microseconds hold.
    pub(crate) fn new(
        interval: CandleInterval,
        start: UtcMicros,
        end: UtcMicros,
        exchanges: u32,
        max_rows: u64,
    ) -> Result<Span, HistoryError> {
        check_range(Some(start), Some(end))?;
        let w = width(interval);
        let first = floor(i128::from(start.as_micros()), w);
        let stop = floor(i128::from(end.as_micros()) - 1, w) + w;
        let count = (stop - first) / w;
        if count > i128::from(MAX_CANDLES) {
            return Err(HistoryError::invalid(
                "start_time",
                format!("the range spans {count} {interval} candles, more than {MAX_CANDLES}"),
            ));
        }
        // Bounds that leave `bigint` are refused rather than clamped: the SQL adds the width to
        // each bucket start, which must not overflow, and no stored minute is out there.
        let Ok(first) = i64::try_from(first) else {
            return Err(HistoryError::invalid(
                "start_time",
                format!("its {interval} bucket starts before the earliest representable time"),
            ));
        };
        let Ok(stop) = i64::try_from(stop) else {
            return Err(HistoryError::invalid(
                "end_time",
                format!("its {interval} bucket ends after the latest representable time"),
            ));
        };
        let rows = i128::from(stop - first) / MINUTE * i128::from(exchanges);
        if rows > i128::from(max_rows) {
            let on = if exchanges > 1 {
                format!(" on {exchanges} exchanges")
            } else {
                String::new()
            };
            return Err(HistoryError::invalid(
                "start_time",
                format!(
                    "the range covers {rows} one-minute rows ({count} {interval} candles{on}), \
                     more than storage.history_max_rows ({max_rows}) allows in one call; ask for \
                     a shorter range, or a smaller interval (whole buckets are read)"
                ),
            ));
        }
        Ok(Span {
            interval,
            first: UtcMicros(first),
            stop: UtcMicros(stop),
        })
    }

    /// Whether the buckets are whole hours (1h, 1d), which both backends read from their hourly
    /// candles (`candles_1h`) rather than from the minutes. The [`Span::new`] bound still counts the minutes they stand for.
    pub(crate) fn in_hours(&self) -> bool {
        self.width_us() % HOUR == 0
    }

    /// The bucket width in microseconds (at most a day).
    pub(crate) fn width_us(&self) -> i64 {
        self.interval.duration().as_micros() as i64
    }

    /// `sql` with the parameters every bucket query takes: `$1` exchange, `$2` market, `$3`
    /// the bucket width in microseconds, `$4` and `$5` the first and stop minute of the span.
    pub(crate) fn statement(
        &self,
        backend: DbBackend,
        sql: &str,
        exchange: Exchange,
        market: Market,
    ) -> Statement {
        Statement::from_sql_and_values(
            backend,
            sql,
            [
                exchange.as_str().into(),
                market.to_string().into(),
                self.width_us().into(),
                self.first.as_micros().into(),
                self.stop.as_micros().into(),
            ],
        )
    }
}

/// The candles of `market` on `exchange` over `span`, oldest first.
pub(crate) async fn candles(
    db: &DatabaseConnection,
    exchange: Exchange,
    market: Market,
    span: Span,
) -> Result<Vec<Candle>, HistoryError> {
    match (span.interval, db.get_database_backend()) {
        (CandleInterval::OneMinute, _) => minutes(db, exchange, market, span).await,
        (_, DbBackend::Postgres) => postgres::roll_up(db, exchange, market, span).await,
        (_, DbBackend::Sqlite | DbBackend::MySql) => {
            sqlite::roll_up(db, exchange, market, span).await
        }
    }
}

/// One-minute candles need no roll-up: the rows themselves, at most [`MAX_CANDLES`] of them.
async fn minutes(
    db: &DatabaseConnection,
    exchange: Exchange,
    market: Market,
    span: Span,
) -> Result<Vec<Candle>, HistoryError> {
    let rows = select_exact::<candles_1m::Entity>()
        .filter(of_market(candles_1m::Column::MarketId, exchange, market))
        .filter(candles_1m::Column::OpenTimeUs.gte(span.first.as_micros()))
        .filter(candles_1m::Column::OpenTimeUs.lt(span.stop.as_micros()))
        .order_by_asc(candles_1m::Column::OpenTimeUs)
        .all(db)
        .await?;
    Ok(rows
        .iter()
        .map(candles_1m::Model::to_candle)
        .collect::<Result<Vec<_>, _>>()?)
}

#[cfg(test)]
mod tests;
