//! The roll-up in SQL on PostgreSQL: one statement aggregates a market's minutes bucket by
//! bucket and returns one row per bucket that has any. Buckets of whole hours aggregate the
//! hourly candles instead (`candles_1h`), which hold their minutes' roll-up and keep, for the
//! high and low, the earlier minute's value on a tie; so an hour's rows stand in for its
//! minutes below, with the same answer.
//!
//! Each bucket is one range scan of the `(market_id, open_time_us)` key, beside a
//! `generate_series` of the span's bucket starts: no sort of the whole span, which with
//! `GROUP BY bucket` spilled to disk and took parallel workers (docs/benchmarks.md has both).
//!
//! Every aggregate keeps [`Candle::roll_up`]'s answer to the digit and scale, without sorting
//! inside the bucket: `min`/`max` over arrays compare element by element, so an array that
//! leads with the sort key and carries the tie-breakers and the value picks one minute's value
//! exactly as `roll_up` does, with that value's own scale.
//! * open: the minute of the earliest first trade `(time, id)`, the earlier minute on a tie,
//!   `min(ARRAY[first_trade_time_us, first_trade_id, open_time_us, open])`;
//! * close: the latest last trade, the earlier minute on a tie (hence `-open_time_us`);
//! * high and low: the largest and smallest value, the earlier minute's on a tie, because
//!   `100.0` and `100.00` are equal but print differently and [`Candle::merge`] keeps what it
//!   has; a plain `max(high)` would pick whichever it met last;
//! * sums are `NUMERIC` sums, exact, with the largest scale of their terms as in
//!   [`Decimal`](tickmesh_domain::Decimal) addition. Every decimal is cast to text so its scale
//!   survives the trip ([`select_exact`](crate::entity::select_exact) explains why).
//!
//! One difference: a sum a 96-bit decimal cannot hold exactly is refused as
//! [`HistoryError::Overflow`], where the Rust fold would first round away digits beyond the
//! 28th significant one. Volumes that large do not occur in market data; a refusal is the
//! honest answer when they do.

use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, QueryResult};
use tickmesh_domain::{
    Candle, CandleOverflow, Decimal, DecimalError, Exchange, Market, UtcMicros, parse_decimal,
};

use super::Span;
use crate::entity::parse_trade_id;
use crate::history::HistoryError;
use crate::{StorageError, StoredDecimal};

/// The roll-up of the buckets of `$table`'s rows: `$1` exchange, `$2` market, `$3` bucket
/// width, `$4` start of the first bucket, `$5` end of the last ([`Span`] keeps both aligned and
/// within `bigint`, so no bound overflows).
macro_rules! roll_up {
    ($table:literal) => {
        concat!(
            r#"
SELECT b.bucket,
    CAST(o[4] AS text) AS open,
    CAST(h[1] AS text) AS high,
    CAST(l[1] AS text) AS low,
    CAST(c[4] AS text) AS close,
    CAST(volume AS text) AS volume,
    CAST(quote_volume AS text) AS quote_volume,
    CAST(trade_count AS text) AS trade_count,
    CAST(o[1] AS bigint) AS first_trade_time_us,
    CAST(o[2] AS bigint) AS first_trade_id,
    CAST(c[1] AS bigint) AS last_trade_time_us,
    CAST(c[2] AS bigint) AS last_trade_id
FROM generate_series($4, $5 - $3, $3) AS b(bucket)
CROSS JOIN LATERAL (
    SELECT min(ARRAY[first_trade_time_us, first_trade_id, open_time_us, open]) AS o,
        max(ARRAY[high, -open_time_us]) AS h,
        min(ARRAY[low, open_time_us]) AS l,
        max(ARRAY[last_trade_time_us, last_trade_id, -open_time_us, close]) AS c,
        sum(volume) AS volume,
        sum(quote_volume) AS quote_volume,
        sum(trade_count) AS trade_count
    FROM "#,
            $table,
            r#"
    WHERE market_id = (SELECT id FROM markets WHERE exchange = $1 AND market = $2)
        AND open_time_us >= b.bucket AND open_time_us < b.bucket + $3
) AS m
WHERE m.trade_count IS NOT NULL
ORDER BY b.bucket
"#
        )
    };
}

/// Buckets of minutes (5m, 15m).
const ROLL_UP_MINUTES: &str = roll_up!("candles_1m");
/// Buckets of hours (1h, 1d): the table migration 12 keeps, 60 times fewer rows.
const ROLL_UP_HOURS: &str = roll_up!("candles_1h");

/// The table `span`'s buckets are rolled up from, for errors about its rows.
fn table(span: Span) -> &'static str {
    if span.in_hours() {
        "candles_1h"
    } else {
        "candles_1m"
    }
}

/// The candles of `market` on `exchange` over `span`, rolled up by PostgreSQL.
pub(super) async fn roll_up(
    db: &DatabaseConnection,
    exchange: Exchange,
    market: Market,
    span: Span,
) -> Result<Vec<Candle>, HistoryError> {
    let sql = if span.in_hours() {
        ROLL_UP_HOURS
    } else {
        ROLL_UP_MINUTES
    };
    let statement = span.statement(DbBackend::Postgres, sql, exchange, market);
    let rows = db.query_all(statement).await?;
    rows.iter().map(|row| candle(row, span)).collect()
}

fn candle(row: &QueryResult, span: Span) -> Result<Candle, HistoryError> {
    let price = |column| row.try_get::<StoredDecimal>("", column).map(|d| d.0);
    let int = |column| row.try_get::<i64>("", column);
    let id = |column| -> Result<_, HistoryError> {
        Ok(parse_trade_id(table(span), column, int(column)?)?)
    };
    Ok(Candle {
        open_time: UtcMicros(int("bucket")?),
        open: price("open")?,
        high: price("high")?,
        low: price("low")?,
        close: price("close")?,
        volume: sum(row, span, "volume")?,
        quote_volume: sum(row, span, "quote_volume")?,
        trade_count: count(row, span)?,
        first_trade: (
            UtcMicros(int("first_trade_time_us")?),
            id("first_trade_id")?,
        ),
        last_trade: (UtcMicros(int("last_trade_time_us")?), id("last_trade_id")?),
    })
}

/// A summed decimal column: [`HistoryError::Overflow`] when the exact sum is out of range.
fn sum(row: &QueryResult, span: Span, column: &'static str) -> Result<Decimal, HistoryError> {
    let text: String = row.try_get("", column)?;
    parse_decimal(&text).map_err(|e| match e {
        DecimalError::OutOfRange(_) => overflow(span, column),
        DecimalError::Syntax(_) => StorageError::invalid_row(table(span), column, e).into(),
    })
}

/// The summed trade count, which [`Candle`] holds in a `u64`.
fn count(row: &QueryResult, span: Span) -> Result<u64, HistoryError> {
    let text: String = row.try_get("", "trade_count")?;
    text.parse().map_err(|_| {
        if text.starts_with('-') {
            StorageError::invalid_row(table(span), "trade_count", format!("negative sum {text}"))
                .into()
        } else {
            overflow(span, "trade_count")
        }
    })
}

fn overflow(span: Span, field: &'static str) -> HistoryError {
    HistoryError::Overflow {
        interval: span.interval,
        source: CandleOverflow { field },
    }
}
