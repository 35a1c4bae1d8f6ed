//! The roll-up on SQLite: the database groups the minutes by bucket and hands over one row per
//! bucket, whose minutes Rust folds exactly.
//!
//! SQLite cannot add or compare `TEXT` decimals exactly (see the [parent](super) module), so
//! the arithmetic stays [`Candle::merge`] itself, in the order [`Candle::roll_up`] merges,
//! ascending minutes. What SQLite does is the grouping: each bucket's minutes come as one
//! text, `group_concat` of the stored columns in minute order, so one row per bucket crosses
//! from the database to Rust instead of one per minute: streaming the minutes one row each
//! spent most of its time handing rows between the driver's thread and ours, not in SQLite
//! nor in the fold (docs/benchmarks.md). The buckets are streamed too, so memory holds a few
//! buckets' text at a time besides the answer.
//!
//! The statement reads at most the span's rows, which [`Span::new`] bounded; SQLite has no
//! statement timeout, so that bound is the only one.

use futures::TryStreamExt as _;
use sea_orm::{DatabaseConnection, DbBackend, StreamTrait};
use tickmesh_domain::{Candle, Exchange, Market, UtcMicros, parse_decimal};

use super::Span;
use crate::entity::candles_1m;
use crate::history::HistoryError;
use crate::{StorageError, StoredDecimal};

/// `$1` exchange, `$2` market, `$3` bucket width, `$4` start of the first bucket, `$5` end of
/// the last. A minute is its columns joined by spaces, in [`minute`]'s order; minutes are
/// joined by commas. Neither character occurs in a stored integer or decimal.
const ROLL_UP: &str = r#"
SELECT open_time_us - ((open_time_us % $3) + $3) % $3 AS bucket,
    group_concat(
        open_time_us || ' ' || open || ' ' || high || ' ' || low || ' ' || close || ' '
            || volume || ' ' || quote_volume || ' ' || trade_count || ' '
            || first_trade_time_us || ' ' || first_trade_id || ' '
            || last_trade_time_us || ' ' || last_trade_id,
        ',' ORDER BY open_time_us
    ) AS minutes
FROM candles_1m
WHERE market_id = (SELECT id FROM markets WHERE exchange = $1 AND market = $2)
    AND open_time_us >= $4 AND open_time_us < $5
GROUP BY bucket
ORDER BY bucket
"#;

/// The candles of `market` on `exchange` over `span`, folded bucket by bucket.
pub(super) async fn roll_up(
    db: &DatabaseConnection,
    exchange: Exchange,
    market: Market,
    span: Span,
) -> Result<Vec<Candle>, HistoryError> {
    let statement = span.statement(DbBackend::Sqlite, ROLL_UP, exchange, market);
    let mut rows = db.stream(statement).await?;
    let mut candles = Vec::new();
    while let Some(row) = rows.try_next().await? {
        let bucket: i64 = row.try_get("", "bucket")?;
        let minutes: String = row.try_get("", "minutes")?;
        candles.push(fold(UtcMicros(bucket), &minutes, span)?);
    }
    Ok(candles)
}

/// One bucket's candle from its minutes, merged in minute order as [`Candle::roll_up`] does.
fn fold(bucket: UtcMicros, minutes: &str, span: Span) -> Result<Candle, HistoryError> {
    let mut texts = minutes.split(',');
    // `split` yields at least one piece; an empty one fails to parse below.
    let mut candle = minute(texts.next().unwrap_or_default())?;
    for text in texts {
        candle
            .merge(&minute(text)?)
            .map_err(|source| HistoryError::Overflow {
                interval: span.interval,
                source,
            })?;
    }
    candle.open_time = bucket;
    Ok(candle)
}

/// One stored minute from its text, checked as a row read from the table is.
fn minute(text: &str) -> Result<Candle, HistoryError> {
    let invalid = || {
        HistoryError::from(StorageError::invalid_row(
            "candles_1m",
            "open_time_us",
            format!("unreadable minute {text:?}"),
        ))
    };
    let mut fields = text.split(' ');
    // A missing field is empty, which parses as neither an integer nor a decimal.
    let f: [&str; 12] = std::array::from_fn(|_| fields.next().unwrap_or_default());
    if fields.next().is_some() {
        return Err(invalid());
    }
    let int = |at: usize| f[at].parse::<i64>().map_err(|_| invalid());
    let dec = |at: usize| {
        parse_decimal(f[at])
            .map(StoredDecimal)
            .map_err(|_| invalid())
    };
    let row = candles_1m::Model {
        market_id: 0,
        open_time_us: int(0)?,
        open: dec(1)?,
        high: dec(2)?,
        low: dec(3)?,
        close: dec(4)?,
        volume: dec(5)?,
        quote_volume: dec(6)?,
        trade_count: int(7)?,
        first_trade_time_us: int(8)?,
        first_trade_id: int(9)?,
        last_trade_time_us: int(10)?,
        last_trade_id: int(11)?,
    };
    Ok(row.to_candle()?)
}
