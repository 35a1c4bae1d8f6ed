//! What the history bench stores: which pairs, over which stretch of time, how densely, and
//! at which prices; and from that, how many rows a request over a range must return.
//!
//! Every row is a function of its pair and its time, so the fill is a handful of
//! `INSERT ... SELECT` statements over `generate_series` that PostgreSQL runs without a row
//! crossing the socket, and the bench knows what each call must answer without reading the
//! database. Each pair's events are evenly spaced, offset by a per-pair fraction of the
//! spacing so the exchanges' events do not all share a microsecond.

use tickmesh_domain::{Exchange, Market};

/// Microseconds in a minute, an hour and a day.
pub(crate) const MINUTE_US: i64 = 60_000_000;
pub(crate) const HOUR_US: i64 = 60 * MINUTE_US;
pub(crate) const DAY_US: i64 = 24 * HOUR_US;

/// One market on one exchange, as filled.
#[derive(Debug, Clone)]
pub(crate) struct Pair {
    pub(crate) exchange: Exchange,
    pub(crate) market: Market,
    /// Its id in `markets`, known once the fill has registered it.
    pub(crate) id: i32,
    /// Its index among all pairs: what makes its prices and offsets its own.
    pub(crate) k: i64,
    /// The exchange's index in [`Exchange::ALL`] (its prices sit a little apart).
    pub(crate) x: i64,
    /// The price level the synthetic walk moves around.
    pub(crate) base: f64,
    /// Decimal places of its prices (0 for BTC in KRW, 1 or 2 for the cheaper coins).
    pub(crate) scale: u32,
}

/// An evenly spaced series of events per pair over `[from, to)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Series {
    pub(crate) from: i64,
    pub(crate) to: i64,
    /// Microseconds between two events of one pair.
    pub(crate) step: i64,
    /// Whether each pair's events are offset by a fraction of the step (all but candles,
    /// which open on the minute).
    pub(crate) staggered: bool,
}

impl Series {
    /// The offset of pair `k`'s events from `from`, below one step.
    pub(crate) fn offset(&self, k: i64) -> i64 {
        if self.staggered {
            (k * 7919) % self.step
        } else {
            0
        }
    }

    /// Events of pair `k` in `[a, b)`.
    pub(crate) fn count(&self, k: i64, a: i64, b: i64) -> u64 {
        let first = self.from + self.offset(k);
        let (a, b) = (a.max(first), b.min(self.to));
        if a >= b {
            return 0;
        }
        // Events at first + i * step: those with i in [ceil((a - first) / step),
        // ceil((b - first) / step)).
        let up = |t: i64| (t - first + self.step - 1).div_euclid(self.step);
        u64::try_from(up(b) - up(a)).unwrap_or(0)
    }
}

/// The whole synthetic history.
#[derive(Debug, Clone)]
pub(crate) struct Shape {
    pub(crate) pairs: Vec<Pair>,
    /// The end of everything filled (exclusive), on a minute: the bench's "now".
    pub(crate) anchor: i64,
    /// One-minute candles: one per pair and minute.
    pub(crate) candles: Series,
    pub(crate) trades: Series,
    pub(crate) tickers: Series,
    pub(crate) books: Series,
}

/// The price level and decimal places of the `i`th market the bench lists.
fn level(i: usize) -> (f64, u32) {
    match i {
        0 => (158_000_000.0, 0),
        1 => (5_200_000.0, 0),
        2 => (3_100.0, 0),
        3 => (245_000.0, 0),
        4 => (480.0, 1),
        n => (1_000.0 + 37.0 * n as f64, 2),
    }
}

/// A per-pair spacing of at least a microsecond for `per_second` events per second.
pub(crate) fn step_for(per_second: f64) -> i64 {
    ((1_000_000.0 / per_second).round() as i64).max(1)
}

impl Shape {
    /// `markets` on every exchange, candles for `candle_days` and trades and tickers for
    /// `trade_days` before `anchor`, books every ten seconds for the last days the default
    /// books retention keeps.
    pub(crate) fn new(
        markets: &[Market],
        anchor: i64,
        candle_days: u32,
        trade_days: u32,
        trades_per_second: f64,
        tickers_per_second: f64,
        book_days: u32,
    ) -> Shape {
        let mut pairs = Vec::new();
        for (x, exchange) in Exchange::ALL.into_iter().enumerate() {
            for (i, market) in markets.iter().enumerate() {
                let (base, scale) = level(i);
                pairs.push(Pair {
                    exchange,
                    market: *market,
                    id: 0,
                    k: pairs.len() as i64,
                    x: x as i64,
                    base,
                    scale,
                });
            }
        }
        let days_back = |days: u32| anchor - i64::from(days) * DAY_US;
        let trade_from = days_back(trade_days);
        Shape {
            pairs,
            anchor,
            candles: Series {
                from: days_back(candle_days),
                to: anchor,
                step: MINUTE_US,
                staggered: false,
            },
            trades: Series {
                from: trade_from,
                to: anchor,
                step: step_for(trades_per_second),
                staggered: true,
            },
            tickers: Series {
                from: trade_from,
                to: anchor,
                step: step_for(tickers_per_second),
                staggered: true,
            },
            books: Series {
                from: days_back(book_days.min(trade_days)),
                to: anchor,
                step: 10_000_000,
                staggered: true,
            },
        }
    }

    /// The pair of `exchange` and the `i`th market.
    pub(crate) fn pair(&self, exchange: Exchange, i: usize) -> &Pair {
        let markets = self.pairs.len() / Exchange::ALL.len();
        let x = Exchange::ALL
            .iter()
            .position(|e| *e == exchange)
            .unwrap_or(0);
        &self.pairs[x * markets + i % markets.max(1)]
    }

    /// Buckets of `width` that a candle or spread request over `[start, end)` returns: those
    /// it spans (whole buckets from the one holding `start`) that hold a filled minute.
    pub(crate) fn buckets(&self, width: i64, start: i64, end: i64) -> u64 {
        let first = start - start.rem_euclid(width);
        let mut n = 0;
        let mut b = first;
        while b < end {
            if b + width > self.candles.from && b < self.candles.to {
                n += 1;
            }
            b += width;
        }
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_follow_the_spacing_and_the_offset() {
        let s = Series {
            from: 1_000,
            to: 2_000,
            step: 100,
            staggered: true,
        };
        // Pair 0 at 1000, 1100, ..., 1900.
        assert_eq!(s.count(0, 0, 10_000), 10);
        assert_eq!(s.count(0, 1_000, 1_100), 1);
        assert_eq!(s.count(0, 1_001, 1_100), 0);
        assert_eq!(s.count(0, 1_950, 5_000), 0);
        // Pair 1 is offset by 7919 % 100 = 19: 1019, ..., 1919.
        assert_eq!(s.offset(1), 19);
        assert_eq!(s.count(1, 1_000, 1_019), 0);
        assert_eq!(s.count(1, 1_000, 1_020), 1);
        assert_eq!(s.count(1, 0, 10_000), 10);
    }

    #[test]
    fn buckets_are_whole_and_only_where_minutes_are() {
        let markets = [Market::parse("BTC").unwrap()];
        let anchor = 100 * DAY_US + 30 * MINUTE_US;
        let shape = Shape::new(&markets, anchor, 2, 1, 1.0, 1.0, 3);
        assert_eq!(shape.pairs.len(), 3);
        assert_eq!(shape.buckets(MINUTE_US, anchor - DAY_US, anchor), 1440);
        // Two days back from 00:30: the partial first day, the whole one, and today.
        assert_eq!(shape.buckets(DAY_US, anchor - 365 * DAY_US, anchor), 3);
        assert_eq!(shape.buckets(HOUR_US, anchor - DAY_US, anchor), 25);
        assert_eq!(shape.books.from, anchor - DAY_US);
    }
}
