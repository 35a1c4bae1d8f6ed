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
//! Buckets of whole hours (1h, 1d) read each hour's computed candle (`candles_1h`) instead of
//! its minutes, unless its minutes changed since it was computed: the migrations' triggers
//! mark such an hour stale, and its minutes are read instead until storage's task computes
//! it again ([`crate::maintenance::hours`]). A year of 1d candles reads 8,760 hours.
//!
//! The statement reads at most the span's rows, which [`Span::new`] bounded; SQLite has no
//! statement timeout, so that bound is the only one.

use futures::TryStreamExt as _;
use sea_orm::{DatabaseConnection, DbBackend, StreamTrait};
use tickmesh_domain::{Candle, CandleInterval, Exchange, Market, UtcMicros, parse_decimal};

use super::Span;
use crate::entity::candles_1m;
use crate::history::HistoryError;
use crate::{StorageError, StoredDecimal};

/// A minute of `candles_1m AS m` as text: the table it came from, then its columns joined by
/// spaces, in [`minute`]'s order. Rows are joined by commas; neither character occurs in a
/// table name, a stored integer or a decimal.
macro_rules! minute_text {
    () => {
        "'candles_1m ' || m.open_time_us || ' ' || m.open || ' ' || m.high || ' ' || m.low \
         || ' ' || m.close || ' ' || m.volume || ' ' || m.quote_volume || ' ' || m.trade_count \
         || ' ' || m.first_trade_time_us || ' ' || m.first_trade_id || ' ' \
         || m.last_trade_time_us || ' ' || m.last_trade_id"
    };
}

/// A computed hour of `candles_1h AS h` as text, as `minute_text!`.
macro_rules! hour_text {
    () => {
        "'candles_1h ' || h.open_time_us || ' ' || h.open || ' ' || h.high || ' ' || h.low \
         || ' ' || h.close || ' ' || h.volume || ' ' || h.quote_volume || ' ' || h.trade_count \
         || ' ' || h.first_trade_time_us || ' ' || h.first_trade_id || ' ' \
         || h.last_trade_time_us || ' ' || h.last_trade_id"
    };
}

/// The market's id, from `$1` exchange and `$2` market.
macro_rules! market_id {
    () => {
        "(SELECT id FROM markets WHERE exchange = $1 AND market = $2)"
    };
}

/// A minute of `candles_1m AS m` as text.
pub(crate) const PIECE_1M: &str = minute_text!();

/// Buckets of minutes. `$3` bucket width, `$4` start of the first bucket, `$5` end of the last.
const ROLL_UP: &str = concat!(
    "SELECT open_time_us - ((open_time_us % $3) + $3) % $3 AS bucket, group_concat(",
    minute_text!(),
    ", ',' ORDER BY open_time_us) AS minutes FROM candles_1m AS m WHERE market_id = ",
    market_id!(),
    " AND open_time_us >= $4 AND open_time_us < $5 GROUP BY bucket ORDER BY bucket"
);

/// Buckets of whole hours: each hour from `candles_1h` while it is fresh, from its minutes
/// while it is marked stale (see the migrations), in time order. The stale marks lead to the
/// minutes, so a range reads minutes only of the hours that changed since they were computed.
/// The parameters are [`ROLL_UP`]'s; the span's bounds are whole hours.
const ROLL_UP_HOURS: &str = concat!(
    "SELECT at - ((at % $3) + $3) % $3 AS bucket, group_concat(piece, ',' ORDER BY at) AS minutes \
     FROM (SELECT h.open_time_us AS at, ",
    hour_text!(),
    " AS piece FROM candles_1h AS h WHERE h.market_id = ",
    market_id!(),
    " AND h.open_time_us >= $4 AND h.open_time_us < $5 AND NOT EXISTS (SELECT 1 FROM \
     candles_1h_stale AS s WHERE s.market_id = h.market_id AND s.open_time_us = h.open_time_us) \
     UNION ALL SELECT m.open_time_us AS at, ",
    minute_text!(),
    " AS piece FROM candles_1h_stale AS s JOIN candles_1m AS m ON m.market_id = s.market_id \
     AND m.open_time_us >= s.open_time_us AND m.open_time_us < s.open_time_us + 3600000000 \
     WHERE s.market_id = ",
    market_id!(),
    " AND s.open_time_us >= $4 AND s.open_time_us < $5) GROUP BY bucket ORDER BY bucket"
);

/// The candles of `market` on `exchange` over `span`, folded bucket by bucket.
pub(super) async fn roll_up(
    db: &DatabaseConnection,
    exchange: Exchange,
    market: Market,
    span: Span,
) -> Result<Vec<Candle>, HistoryError> {
    let sql = if span.in_hours() {
        ROLL_UP_HOURS
    } else {
        ROLL_UP
    };
    let statement = span.statement(DbBackend::Sqlite, sql, exchange, market);
    let mut rows = db.stream(statement).await?;
    let mut candles = Vec::new();
    while let Some(row) = rows.try_next().await? {
        let bucket: i64 = row.try_get("", "bucket")?;
        let minutes: String = row.try_get("", "minutes")?;
        candles.push(fold(UtcMicros(bucket), &minutes, span.interval)?);
    }
    Ok(candles)
}

/// One bucket's candle from its rows (minutes or computed hours) in time order, merged as
/// [`Candle::roll_up`] does.
pub(crate) fn fold(
    bucket: UtcMicros,
    minutes: &str,
    interval: CandleInterval,
) -> Result<Candle, HistoryError> {
    let mut texts = minutes.split(',');
    // `split` yields at least one piece; an empty one fails to parse below.
    let mut candle = minute(texts.next().unwrap_or_default())?;
    for text in texts {
        candle
            .merge(&minute(text)?)
            .map_err(|source| HistoryError::Overflow { interval, source })?;
    }
    candle.open_time = bucket;
    Ok(candle)
}

/// One stored row (a minute, or a computed hour) from its text, checked as a row read from its
/// table is.
fn minute(text: &str) -> Result<Candle, HistoryError> {
    let mut fields = text.split(' ');
    let table = match fields.next() {
        Some("candles_1h") => "candles_1h",
        _ => "candles_1m",
    };
    let invalid = || {
        HistoryError::from(StorageError::invalid_row(
            table,
            "open_time_us",
            format!("unreadable row {text:?}"),
        ))
    };
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
    row.to_candle().map_err(|e| match e {
        StorageError::InvalidRow { column, reason, .. } => {
            HistoryError::from(StorageError::invalid_row(table, column, reason))
        }
        other => HistoryError::from(other),
    })
}
