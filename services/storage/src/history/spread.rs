//! The spread between two exchanges' closes over time.
//!
//! A spread needs only each bucket's close, which is a stored value, not a sum: so both
//! backends pick it in SQL, one row per bucket and exchange, SQLite included. The close is the
//! one [`Candle::roll_up`](tickmesh_domain::Candle::roll_up) keeps, from the minute with the
//! latest last trade `(time, id)`, the earlier minute on a tie. PostgreSQL picks it bucket by
//! bucket as its candle roll-up does ([`candles`](super::candles)); SQLite, which has no
//! `LATERAL`, ranks the minutes with a window function. Both read 1h and 1d buckets from their
//! hourly candles.

use std::collections::BTreeMap;

use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend};
use tickmesh_domain::{Decimal, Exchange, Market, UtcMicros};

use super::candles::Span;
use super::{HistoryError, percent};
use crate::StoredDecimal;

/// The difference between two exchanges' closes in one bucket where both traded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpreadPoint {
    /// Start of the bucket.
    pub time: UtcMicros,
    /// Close on the base exchange.
    pub base_close: Decimal,
    /// Close on the other exchange.
    pub other_close: Decimal,
    /// `other_close - base_close`, exact.
    pub spread: Decimal,
    /// `spread / base_close * 100` at [`PERCENT_SCALE`](super::PERCENT_SCALE) places; `None`
    /// when the base close is zero.
    pub percent: Option<Decimal>,
}

/// Each bucket's close from `$table`'s rows: `$1` exchange, `$2` market, `$3` bucket width,
/// `$4` start of the first bucket, `$5` end of the last. The close is cast to text so
/// PostgreSQL keeps its scale.
macro_rules! closes_postgres {
    ($table:literal) => {
        concat!(
            r#"
SELECT b.bucket, CAST(c[4] AS text) AS close
FROM generate_series($4, $5 - $3, $3) AS b(bucket)
CROSS JOIN LATERAL (
    SELECT max(ARRAY[last_trade_time_us, last_trade_id, -open_time_us, close]) AS c
    FROM "#,
            $table,
            r#"
    WHERE market_id = (SELECT id FROM markets WHERE exchange = $1 AND market = $2)
        AND open_time_us >= b.bucket AND open_time_us < b.bucket + $3
) AS m
WHERE m.c IS NOT NULL
ORDER BY b.bucket
"#
        )
    };
}

const CLOSES_POSTGRES_MINUTES: &str = closes_postgres!("candles_1m");
const CLOSES_POSTGRES_HOURS: &str = closes_postgres!("candles_1h");

/// The same on SQLite, whose `$n` parameters are numbered as PostgreSQL's, over `$rows`: a
/// subquery of `at` (the row's start), `close`, `last_trade_time_us` and `last_trade_id`.
/// SQLite has no `LATERAL`, so each bucket's rows are ranked with a window function, the
/// earlier row first on a tie. `CAST(... AS text)` is a no-op on SQLite's `TEXT` decimals.
macro_rules! closes_sqlite {
    ($rows:expr) => {
        concat!(
            r#"
SELECT bucket, close FROM (
    SELECT at - ((at % $3) + $3) % $3 AS bucket,
        CAST(close AS text) AS close,
        row_number() OVER (
            PARTITION BY at - ((at % $3) + $3) % $3
            ORDER BY last_trade_time_us DESC, last_trade_id DESC, at
        ) AS nth
    FROM ("#,
            $rows,
            r#")
) AS ranked
WHERE nth = 1
ORDER BY bucket
"#
        )
    };
}

/// The minutes of the span.
const CLOSES_SQLITE: &str = closes_sqlite!(
    r#"
        SELECT open_time_us AS at, close, last_trade_time_us, last_trade_id
        FROM candles_1m
        WHERE market_id = (SELECT id FROM markets WHERE exchange = $1 AND market = $2)
            AND open_time_us >= $4 AND open_time_us < $5"#
);

/// Whole hours: each hour from `candles_1h` while it is fresh, from its minutes while it is
/// marked stale, as the candle roll-up reads them ([`candles`](super::candles)).
const CLOSES_SQLITE_HOURS: &str = closes_sqlite!(
    r#"
        SELECT h.open_time_us AS at, h.close, h.last_trade_time_us, h.last_trade_id
        FROM candles_1h AS h
        WHERE h.market_id = (SELECT id FROM markets WHERE exchange = $1 AND market = $2)
            AND h.open_time_us >= $4 AND h.open_time_us < $5
            AND NOT EXISTS (SELECT 1 FROM candles_1h_stale AS s
                WHERE s.market_id = h.market_id AND s.open_time_us = h.open_time_us)
        UNION ALL
        SELECT m.open_time_us, m.close, m.last_trade_time_us, m.last_trade_id
        FROM candles_1h_stale AS s
        JOIN candles_1m AS m ON m.market_id = s.market_id
            AND m.open_time_us >= s.open_time_us AND m.open_time_us < s.open_time_us + 3600000000
        WHERE s.market_id = (SELECT id FROM markets WHERE exchange = $1 AND market = $2)
            AND s.open_time_us >= $4 AND s.open_time_us < $5"#
);

/// Each bucket's close of `market` on `exchange` over `span`.
async fn closes(
    db: &DatabaseConnection,
    exchange: Exchange,
    market: Market,
    span: Span,
) -> Result<BTreeMap<UtcMicros, Decimal>, HistoryError> {
    let backend = db.get_database_backend();
    let sql = match backend {
        DbBackend::Postgres if span.in_hours() => CLOSES_POSTGRES_HOURS,
        DbBackend::Postgres => CLOSES_POSTGRES_MINUTES,
        DbBackend::Sqlite | DbBackend::MySql if span.in_hours() => CLOSES_SQLITE_HOURS,
        DbBackend::Sqlite | DbBackend::MySql => CLOSES_SQLITE,
    };
    let statement = span.statement(backend, sql, exchange, market);
    let rows = db.query_all(statement).await?;
    rows.iter()
        .map(|row| {
            let bucket: i64 = row.try_get("", "bucket")?;
            let close: StoredDecimal = row.try_get("", "close")?;
            Ok((UtcMicros(bucket), close.0))
        })
        .collect()
}

/// How `other`'s close differed from `base`'s for `market` in every bucket of `span` where
/// both exchanges have a candle, oldest first. The caller checked that they differ and sized
/// the span for two exchanges.
pub(crate) async fn spread_history(
    db: &DatabaseConnection,
    market: Market,
    base: Exchange,
    other: Exchange,
    span: Span,
) -> Result<Vec<SpreadPoint>, HistoryError> {
    let base_closes = closes(db, base, market, span).await?;
    let other_closes = closes(db, other, market, span).await?;
    Ok(base_closes
        .into_iter()
        .filter_map(|(time, base_close)| {
            let other_close = *other_closes.get(&time)?;
            // Cannot fail for prices, which are not negative: |other - base| <= max of both.
            let spread = other_close.checked_sub(base_close)?;
            Some(SpreadPoint {
                time,
                base_close,
                other_close,
                spread,
                percent: percent(spread, base_close),
            })
        })
        .collect())
}
