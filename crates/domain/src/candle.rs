//! OHLCV candles built from trades.
//!
//! Storage keeps one-minute candles and rolls them up to larger intervals at query time. Trades
//! can arrive out of order (Upbit's `sequential_id` does not promise order, backfill fills
//! gaps late), so a candle remembers which trade opened and closed it: [`Candle::merge`] is then
//! commutative and associative, and the result does not depend on arrival order.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use rust_decimal::Decimal;

use crate::event::{Trade, TradeId};
use crate::time::UtcMicros;

/// The candle widths tickmesh serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CandleInterval {
    /// One minute, the stored resolution.
    OneMinute,
    /// Five minutes.
    FiveMinutes,
    /// Fifteen minutes.
    FifteenMinutes,
    /// One hour.
    OneHour,
    /// One UTC day.
    OneDay,
}

impl CandleInterval {
    /// Every interval, shortest first.
    pub const ALL: [CandleInterval; 5] = [
        CandleInterval::OneMinute,
        CandleInterval::FiveMinutes,
        CandleInterval::FifteenMinutes,
        CandleInterval::OneHour,
        CandleInterval::OneDay,
    ];

    /// Returns the width.
    pub const fn duration(self) -> Duration {
        Duration::from_secs(match self {
            CandleInterval::OneMinute => 60,
            CandleInterval::FiveMinutes => 300,
            CandleInterval::FifteenMinutes => 900,
            CandleInterval::OneHour => 3_600,
            CandleInterval::OneDay => 86_400,
        })
    }

    /// Returns the short name (`1m`, `5m`, `15m`, `1h`, `1d`).
    pub const fn as_str(self) -> &'static str {
        match self {
            CandleInterval::OneMinute => "1m",
            CandleInterval::FiveMinutes => "5m",
            CandleInterval::FifteenMinutes => "15m",
            CandleInterval::OneHour => "1h",
            CandleInterval::OneDay => "1d",
        }
    }
}

impl fmt::Display for CandleInterval {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for CandleInterval {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        CandleInterval::ALL
            .into_iter()
            .find(|i| i.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| format!("unknown candle interval {s:?}: expected 1m, 5m, 15m, 1h or 1d"))
    }
}

/// A candle's volume or turnover would exceed what a [`Decimal`] holds. Events that pass
/// [`EventBounds`](crate::EventBounds) cannot cause it in one trade, but a minute of many
/// trades at the limits can: the trade that would overflow is refused, not rounded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("candle {field} overflows the decimal range")]
pub struct CandleOverflow {
    /// `volume`, `quote_volume` or `trade_count`.
    pub field: &'static str,
}

/// Open, high, low, close and volume over one interval of one market.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candle {
    /// Start of the interval (inclusive).
    pub open_time: UtcMicros,
    /// Price of the earliest trade.
    pub open: Decimal,
    /// Highest trade price.
    pub high: Decimal,
    /// Lowest trade price.
    pub low: Decimal,
    /// Price of the latest trade.
    pub close: Decimal,
    /// Base-asset volume.
    pub volume: Decimal,
    /// Quote-asset turnover (sum of price × size).
    pub quote_volume: Decimal,
    /// Number of trades.
    pub trade_count: u64,
    /// Time and id of the earliest trade, which set `open`.
    pub first_trade: (UtcMicros, TradeId),
    /// Time and id of the latest trade, which set `close`.
    pub last_trade: (UtcMicros, TradeId),
}

impl Candle {
    /// Builds the candle of `interval` holding a single trade executed at `time`.
    pub fn from_trade(
        interval: CandleInterval,
        time: UtcMicros,
        trade: &Trade,
    ) -> Result<Candle, CandleOverflow> {
        let quote_volume = trade.price.checked_mul(trade.size).ok_or(CandleOverflow {
            field: "quote_volume",
        })?;
        Ok(Candle {
            open_time: time.floor_to(interval.duration()),
            open: trade.price,
            high: trade.price,
            low: trade.price,
            close: trade.price,
            volume: trade.size,
            quote_volume,
            trade_count: 1,
            first_trade: (time, trade.trade_id),
            last_trade: (time, trade.trade_id),
        })
    }

    /// Folds `other` (a candle of the same market and an interval inside this one) into `self`.
    ///
    /// Order-independent: the open comes from the earliest trade and the close from the
    /// latest, ties broken by trade id. Callers must not merge the same trade twice; storage
    /// guarantees that by merging only trades whose insert was new.
    ///
    /// Sums are checked: when one would overflow, `self` is left unchanged.
    pub fn merge(&mut self, other: &Candle) -> Result<(), CandleOverflow> {
        let overflow = |field| CandleOverflow { field };
        let volume = self
            .volume
            .checked_add(other.volume)
            .ok_or(overflow("volume"))?;
        let quote_volume = self
            .quote_volume
            .checked_add(other.quote_volume)
            .ok_or(overflow("quote_volume"))?;
        let trade_count = self
            .trade_count
            .checked_add(other.trade_count)
            .ok_or(overflow("trade_count"))?;
        self.open_time = self.open_time.min(other.open_time);
        if other.first_trade < self.first_trade {
            self.first_trade = other.first_trade;
            self.open = other.open;
        }
        if other.last_trade > self.last_trade {
            self.last_trade = other.last_trade;
            self.close = other.close;
        }
        self.high = self.high.max(other.high);
        self.low = self.low.min(other.low);
        self.volume = volume;
        self.quote_volume = quote_volume;
        self.trade_count = trade_count;
        Ok(())
    }

    /// Rolls candles up to `interval`, returning one candle per non-empty interval, oldest first.
    pub fn roll_up(
        candles: impl IntoIterator<Item = Candle>,
        interval: CandleInterval,
    ) -> Result<Vec<Candle>, CandleOverflow> {
        let mut out: std::collections::BTreeMap<UtcMicros, Candle> =
            std::collections::BTreeMap::new();
        for mut candle in candles {
            let start = candle.open_time.floor_to(interval.duration());
            match out.get_mut(&start) {
                Some(existing) => existing.merge(&candle)?,
                None => {
                    candle.open_time = start;
                    out.insert(start, candle);
                }
            }
        }
        Ok(out.into_values().collect())
    }
}

#[cfg(test)]
mod tests;
