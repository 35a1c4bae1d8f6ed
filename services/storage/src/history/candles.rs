//! Candles at every served interval, and the spread between two exchanges over time.
//!
//! Storage keeps one-minute candles (`candles_1m`); larger intervals are rolled up here with
//! [`Candle::roll_up`]: open of the first minute, close of the last, highest high, lowest low,
//! volumes and trade counts summed. Buckets start at UTC epoch multiples of the interval, so
//! hours start on the hour and days at 00:00 UTC.
//!
//! A query returns every bucket that starts in `[floor(start), end)`, where `floor` is the
//! start of the bucket holding `start`, and each bucket is complete: it holds all of its
//! minutes, also those at or after `end`. Buckets without trades are absent, not zero-filled.
//! A range may span at most [`MAX_CANDLES`] buckets, which bounds the rows one call reads.

use std::collections::BTreeMap;

use sea_orm::{ColumnTrait, ConnectionTrait, QueryFilter, QueryOrder};
use tickmesh_domain::{Candle, CandleInterval, Decimal, Exchange, Market, UtcMicros};

use super::{HistoryError, check_range, percent};
use crate::entity::{candles_1m, of_market, select_exact};

/// The most buckets one range may span (a week of minutes, 416 days of hours).
pub const MAX_CANDLES: i64 = 10_000;

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

/// The start that makes `[start, end)` span exactly [`MAX_CANDLES`] buckets of `interval`: what
/// a request without a start time gets.
pub fn default_start(interval: CandleInterval, end: UtcMicros) -> UtcMicros {
    let w = width(interval);
    let last = floor(i128::from(end.as_micros()) - 1, w);
    clamp(last - (i128::from(MAX_CANDLES) - 1) * w)
}

/// The `[first, stop)` range of one-minute candles that fills the buckets of `[start, end)`.
fn minutes(
    interval: CandleInterval,
    start: UtcMicros,
    end: UtcMicros,
) -> Result<(UtcMicros, UtcMicros), HistoryError> {
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
    Ok((clamp(first), clamp(stop)))
}

/// The candles of `market` on `exchange` at `interval` over `[start, end)`, oldest first (see
/// the module docs for bucket alignment). Errors name `end_time` when `start >= end` and
/// `start_time` when the range spans more than [`MAX_CANDLES`] buckets.
pub async fn candles<C: ConnectionTrait>(
    db: &C,
    exchange: Exchange,
    market: Market,
    interval: CandleInterval,
    start: UtcMicros,
    end: UtcMicros,
) -> Result<Vec<Candle>, HistoryError> {
    let (first, stop) = minutes(interval, start, end)?;
    let rows = select_exact::<candles_1m::Entity>()
        .filter(of_market(candles_1m::Column::MarketId, exchange, market))
        .filter(candles_1m::Column::OpenTimeUs.gte(first.as_micros()))
        .filter(candles_1m::Column::OpenTimeUs.lt(stop.as_micros()))
        .order_by_asc(candles_1m::Column::OpenTimeUs)
        .all(db)
        .await?;
    let minutes = rows
        .iter()
        .map(candles_1m::Model::to_candle)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(match interval {
        CandleInterval::OneMinute => minutes,
        _ => Candle::roll_up(minutes, interval)
            .map_err(|source| HistoryError::Overflow { interval, source })?,
    })
}

/// How `other`'s close differed from `base`'s for `market` in every bucket of `[start, end)`
/// where both exchanges have a candle, oldest first. Errors as [`candles()`], and name
/// `other_exchange` when it is `base`.
pub async fn spread_history<C: ConnectionTrait>(
    db: &C,
    market: Market,
    base: Exchange,
    other: Exchange,
    interval: CandleInterval,
    start: UtcMicros,
    end: UtcMicros,
) -> Result<Vec<SpreadPoint>, HistoryError> {
    if base == other {
        return Err(HistoryError::invalid(
            "other_exchange",
            format!("must differ from base_exchange ({base})"),
        ));
    }
    let base_candles = candles(db, base, market, interval, start, end).await?;
    let other_closes: BTreeMap<UtcMicros, Decimal> =
        candles(db, other, market, interval, start, end)
            .await?
            .into_iter()
            .map(|c| (c.open_time, c.close))
            .collect();
    Ok(base_candles
        .iter()
        .filter_map(|b| {
            let other_close = *other_closes.get(&b.open_time)?;
            // Cannot fail for prices, which are not negative: |other - base| <= max of both.
            let spread = other_close.checked_sub(b.close)?;
            Some(SpreadPoint {
                time: b.open_time,
                base_close: b.close,
                other_close,
                spread,
                percent: percent(spread, b.close),
            })
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: i64 = 3_600_000_000;

    #[test]
    fn ranges_cover_whole_buckets() {
        let (first, stop) = minutes(
            CandleInterval::OneHour,
            UtcMicros(HOUR + 5),
            UtcMicros(3 * HOUR + 1),
        )
        .unwrap();
        assert_eq!((first, stop), (UtcMicros(HOUR), UtcMicros(4 * HOUR)));
        let (first, stop) = minutes(
            CandleInterval::OneHour,
            UtcMicros(HOUR),
            UtcMicros(3 * HOUR),
        )
        .unwrap();
        assert_eq!((first, stop), (UtcMicros(HOUR), UtcMicros(3 * HOUR)));
    }

    #[test]
    fn default_start_spans_the_maximum() {
        for interval in CandleInterval::ALL {
            let end = UtcMicros(1_790_133_480_000_123);
            let start = default_start(interval, end);
            let (first, stop) = minutes(interval, start, end).unwrap();
            let w = width(interval) as i64;
            assert_eq!((stop.as_micros() - first.as_micros()) / w, MAX_CANDLES);
            assert!(minutes(interval, start.add_micros(-w), end).is_err());
        }
    }

    #[test]
    fn extreme_times_neither_panic_nor_pass() {
        let err = minutes(
            CandleInterval::OneDay,
            UtcMicros(i64::MIN),
            UtcMicros(i64::MAX),
        );
        assert!(matches!(
            err,
            Err(HistoryError::InvalidArgument {
                field: "start_time",
                ..
            })
        ));
        let near_max = UtcMicros(i64::MAX - 5);
        let (_, stop) = minutes(CandleInterval::OneDay, near_max, UtcMicros(i64::MAX)).unwrap();
        assert_eq!(stop, UtcMicros(i64::MAX));
        let _ = default_start(CandleInterval::OneDay, UtcMicros(i64::MIN));
    }
}
