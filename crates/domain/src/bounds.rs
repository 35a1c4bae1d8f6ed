//! What a market event may carry: the checks every event passes where it enters tickmesh.
//!
//! Exchanges are outside our control, and so is anything else that can write to the bus. An
//! event that passes [`EventBounds::check`] can be stored and aggregated without any arithmetic
//! overflowing and without pinning a per-market state to a time far from now:
//!
//! * prices are positive and at most [`MAX_PRICE`], sizes positive and at most [`MAX_SIZE`], so
//!   a trade's notional (price × size) is at most 10^26, far inside what a [`Decimal`] holds
//!   (about 7.9 × 10^28); ticker volumes are non-negative and at most [`MAX_VOLUME`];
//! * an order book has at most [`EventBounds::max_levels`] levels per side;
//! * the exchange time lies within [`EventBounds::max_skew`] of the time the frame was received
//!   (both ways: a trade "from 2100" would otherwise hold the order-book throttle, the latest
//!   ticker and the deduper's last trade of its market for decades);
//! * and, for records read back from the bus where the receipt time is itself untrusted, every
//!   time lies between [`EARLIEST`] (the Unix epoch: no exchange clock runs before it, and a
//!   negative time breaks the arithmetic of candle boundaries) and the reader's clock plus the
//!   skew ([`EventBounds::check_stored`]).
//!
//! The limits on values are constants, not settings: they are far beyond any real market (the
//! most expensive asset on a Korean exchange trades near 10^8 KRW) and they are what keeps the
//! candle arithmetic and the database columns safe, so no deployment should loosen them.

use std::fmt;
use std::time::Duration;

use rust_decimal::Decimal;

use crate::event::{Level, MarketEvent, OrderBook, Payload, Ticker, Trade};
use crate::time::UtcMicros;

/// The largest price an event may carry (10^13 in the quote asset).
pub const MAX_PRICE: Decimal = Decimal::from_parts(1_316_134_912, 2_328, 0, false, 0);
/// The largest size an event may carry (10^13 in the base asset).
pub const MAX_SIZE: Decimal = MAX_PRICE;
/// The largest 24-hour volume or turnover a ticker may carry (10^20).
pub const MAX_VOLUME: Decimal = Decimal::from_parts(1_661_992_960, 1_808_227_885, 5, false, 0);
/// No stored event is older than this: the Unix epoch.
pub const EARLIEST: UtcMicros = UtcMicros(0);

/// Why an event was refused. The [`RejectReason`] of each is a fixed label for metrics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rejection {
    /// A price or size that must be positive is zero or negative.
    NotPositive {
        /// Which field (`price`, `size`, `last`, `bids[3].size`...).
        field: String,
        /// Its value.
        value: Decimal,
    },
    /// A volume that must not be negative is.
    Negative {
        /// Which field.
        field: String,
        /// Its value.
        value: Decimal,
    },
    /// A value above its limit.
    TooLarge {
        /// Which field.
        field: String,
        /// Its value.
        value: Decimal,
        /// The limit.
        max: Decimal,
    },
    /// An order book side with more levels than allowed.
    TooDeep {
        /// `bids` or `asks`.
        side: &'static str,
        /// How many levels it had.
        levels: usize,
        /// The limit.
        max: usize,
    },
    /// The exchange time is too far from the receipt time (or the reader's clock).
    Skewed {
        /// The event's exchange time.
        time: UtcMicros,
        /// The time it was compared with.
        reference: UtcMicros,
        /// The largest distance allowed.
        max_skew: Duration,
    },
    /// A time before [`EARLIEST`], the Unix epoch.
    TooEarly {
        /// Which time (`exchange_time`, `received_time`).
        field: &'static str,
        /// Its value.
        time: UtcMicros,
    },
}

/// The fixed set of reasons an event or frame is refused at the edge, as metric labels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RejectReason {
    /// A frame larger than the configured limit.
    Oversize,
    /// An order book deeper than the configured cap.
    BookDepth,
    /// An exchange time too far from the receipt time, or before [`EARLIEST`].
    TimeSkew,
    /// A price, size or volume out of its range.
    BadValue,
    /// An event for a market the connection did not subscribe to.
    Unsubscribed,
}

impl RejectReason {
    /// Every reason, in a stable order.
    pub const ALL: [RejectReason; 5] = [
        RejectReason::Oversize,
        RejectReason::BookDepth,
        RejectReason::TimeSkew,
        RejectReason::BadValue,
        RejectReason::Unsubscribed,
    ];

    /// The label: `oversize`, `book_depth`, `time_skew`, `bad_value`, `unsubscribed`.
    pub const fn as_str(self) -> &'static str {
        match self {
            RejectReason::Oversize => "oversize",
            RejectReason::BookDepth => "book_depth",
            RejectReason::TimeSkew => "time_skew",
            RejectReason::BadValue => "bad_value",
            RejectReason::Unsubscribed => "unsubscribed",
        }
    }

    /// The position of this reason in [`RejectReason::ALL`], for per-reason counters.
    pub const fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for RejectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Rejection {
    /// The metric label of this rejection.
    pub fn reason(&self) -> RejectReason {
        match self {
            Rejection::NotPositive { .. }
            | Rejection::Negative { .. }
            | Rejection::TooLarge { .. } => RejectReason::BadValue,
            Rejection::TooDeep { .. } => RejectReason::BookDepth,
            Rejection::Skewed { .. } | Rejection::TooEarly { .. } => RejectReason::TimeSkew,
        }
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rejection::NotPositive { field, value } => write!(f, "{field} {value} is not positive"),
            Rejection::Negative { field, value } => write!(f, "{field} {value} is negative"),
            Rejection::TooLarge { field, value, max } => {
                write!(f, "{field} {value} is above the limit {max}")
            }
            Rejection::TooDeep { side, levels, max } => {
                write!(f, "order book {side} has {levels} levels, more than {max}")
            }
            Rejection::Skewed {
                time,
                reference,
                max_skew,
            } => {
                let apart = time.as_micros().abs_diff(reference.as_micros());
                write!(
                    f,
                    "exchange time {} is {} s from {} (at most {} s allowed)",
                    time.as_micros(),
                    apart / 1_000_000,
                    reference.as_micros(),
                    max_skew.as_secs()
                )
            }
            Rejection::TooEarly { field, time } => write!(
                f,
                "{field} {} µs is before the unix epoch",
                time.as_micros()
            ),
        }
    }
}

impl std::error::Error for Rejection {}

/// The configurable part of the checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventBounds {
    /// Most levels per order book side (all three exchanges send at most 30).
    pub max_levels: usize,
    /// Largest distance between an event's exchange time and its receipt time.
    pub max_skew: Duration,
}

impl Default for EventBounds {
    fn default() -> Self {
        EventBounds {
            max_levels: 30,
            max_skew: Duration::from_secs(300),
        }
    }
}

impl EventBounds {
    /// Checks an event as it arrives from an exchange: its values, its book depth, and its
    /// exchange time against its receipt time.
    pub fn check(&self, event: &MarketEvent) -> Result<(), Rejection> {
        self.check_payload(&event.payload)?;
        self.check_near(event.exchange_time, event.received_time)
    }

    /// Checks the values and book depth of a payload, whatever its times.
    pub fn check_payload(&self, payload: &Payload) -> Result<(), Rejection> {
        match payload {
            Payload::Trade(trade) => check_trade(trade),
            Payload::Ticker(ticker) => check_ticker(ticker),
            Payload::OrderBook(book) => self.check_book(book),
        }
    }

    /// Checks that `time` lies within the skew of `reference` (either way).
    pub fn check_near(&self, time: UtcMicros, reference: UtcMicros) -> Result<(), Rejection> {
        let max = i64::try_from(self.max_skew.as_micros()).unwrap_or(i64::MAX);
        if time.as_micros().abs_diff(reference.as_micros()) > max.unsigned_abs() {
            return Err(Rejection::Skewed {
                time,
                reference,
                max_skew: self.max_skew,
            });
        }
        Ok(())
    }

    /// Checks an event read back from the bus, where the receipt time is as untrusted as the
    /// rest: values and depth, both times no earlier than [`EARLIEST`], and no later than
    /// `now` plus the skew.
    pub fn check_stored(&self, event: &MarketEvent, now: UtcMicros) -> Result<(), Rejection> {
        self.check_payload(&event.payload)?;
        for (field, time) in [
            ("exchange_time", event.exchange_time),
            ("received_time", event.received_time),
        ] {
            if time < EARLIEST {
                return Err(Rejection::TooEarly { field, time });
            }
            let max = i64::try_from(self.max_skew.as_micros()).unwrap_or(i64::MAX);
            if time.as_micros() > now.as_micros().saturating_add(max) {
                return Err(Rejection::Skewed {
                    time,
                    reference: now,
                    max_skew: self.max_skew,
                });
            }
        }
        Ok(())
    }

    fn check_book(&self, book: &OrderBook) -> Result<(), Rejection> {
        for (side, levels) in [("bids", &book.bids), ("asks", &book.asks)] {
            if levels.len() > self.max_levels {
                return Err(Rejection::TooDeep {
                    side,
                    levels: levels.len(),
                    max: self.max_levels,
                });
            }
            for (i, Level { price, size }) in levels.iter().enumerate() {
                positive(*price, MAX_PRICE, || format!("{side}[{i}].price"))?;
                positive(*size, MAX_SIZE, || format!("{side}[{i}].size"))?;
            }
        }
        Ok(())
    }
}

fn check_trade(trade: &Trade) -> Result<(), Rejection> {
    positive(trade.price, MAX_PRICE, || "price".to_owned())?;
    positive(trade.size, MAX_SIZE, || "size".to_owned())
}

fn check_ticker(ticker: &Ticker) -> Result<(), Rejection> {
    positive(ticker.last, MAX_PRICE, || "last".to_owned())?;
    let prices = [
        ("open", ticker.open),
        ("high", ticker.high),
        ("low", ticker.low),
        ("prev_close", ticker.prev_close),
        ("best_bid", ticker.best_bid),
        ("best_ask", ticker.best_ask),
    ];
    for (field, value) in prices {
        if let Some(value) = value {
            // A market listed today has no previous close yet; some exchanges send 0 for it.
            within(value, MAX_PRICE, field)?;
        }
    }
    for (field, value) in [
        ("volume_24h", ticker.volume_24h),
        ("quote_volume_24h", ticker.quote_volume_24h),
    ] {
        if let Some(value) = value {
            within(value, MAX_VOLUME, field)?;
        }
    }
    Ok(())
}

/// `value <= max` for a whole, positive `max` (the limits above), exactly and without the
/// rescaling a `Decimal` comparison does when scales differ (every event passes several of
/// these): a decimal is its mantissa over 10^scale, so it is at most `max` when its mantissa
/// is at most `max` × 10^scale, a product that only overflows a `u128` when it exceeds every
/// 96-bit mantissa. (A `Decimal`'s scale is at most 28, so the table always has its power.)
fn at_most(value: Decimal, max: Decimal) -> bool {
    debug_assert!(max.scale() == 0 && max.is_sign_positive());
    if value.is_sign_negative() {
        return true;
    }
    let mantissa = value.mantissa().unsigned_abs();
    let bound = POWERS_OF_TEN
        .get(value.scale() as usize)
        .and_then(|power| max.mantissa().unsigned_abs().checked_mul(*power));
    bound.is_none_or(|bound| mantissa <= bound)
}

/// 10^0 to 10^28, every scale a [`Decimal`] can have.
const POWERS_OF_TEN: [u128; 29] = {
    let mut powers = [1u128; 29];
    let mut i = 1;
    while i < powers.len() {
        powers[i] = powers[i - 1] * 10;
        i += 1;
    }
    powers
};

/// `0 < value <= max`.
fn positive(value: Decimal, max: Decimal, field: impl Fn() -> String) -> Result<(), Rejection> {
    if value.is_sign_negative() || value.is_zero() {
        return Err(Rejection::NotPositive {
            field: field(),
            value,
        });
    }
    if !at_most(value, max) {
        return Err(Rejection::TooLarge {
            field: field(),
            value,
            max,
        });
    }
    Ok(())
}

/// `0 <= value <= max`.
fn within(value: Decimal, max: Decimal, field: &str) -> Result<(), Rejection> {
    if value.is_sign_negative() && !value.is_zero() {
        return Err(Rejection::Negative {
            field: field.to_owned(),
            value,
        });
    }
    if !at_most(value, max) {
        return Err(Rejection::TooLarge {
            field: field.to_owned(),
            value,
            max,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests;
