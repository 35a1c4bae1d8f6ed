//! The tickmesh domain model: what an exchange, a market and a market event are, free of any
//! I/O, wire format or RPC type.
//!
//! # Layout
//! * [`exchange`]: the three Korean exchanges tickmesh collects from.
//! * [`market`]: `BASE/QUOTE` pairs, parsed from every spelling users and exchanges use.
//! * [`decimal`]: exact parsing of the number spellings exchanges send (exponents included).
//! * [`time`]: UTC timestamps in microseconds, with unit detection for exchange clocks.
//! * [`event`]: tickers, trades and order books as one [`MarketEvent`].
//! * [`gap`]: outages of a feed, with what backfill recovered.
//! * [`bounds`]: what an event may carry, checked where it enters tickmesh.
//! * [`candle`]: OHLCV candles built from trades and rolled up to larger intervals.
//!
//! Prices and sizes are [`rust_decimal::Decimal`] everywhere: floats never carry a price.

pub mod bounds;
pub mod candle;
pub mod decimal;
pub mod event;
pub mod exchange;
pub mod gap;
pub mod market;
pub mod time;

pub use bounds::{EventBounds, RejectReason, Rejection};
pub use candle::{Candle, CandleInterval, CandleOverflow};
pub use decimal::{DecimalError, DecimalText, format_decimal, parse_decimal, write_decimal};
pub use event::{EventKind, Level, MarketEvent, OrderBook, Payload, Side, Ticker, Trade, TradeId};
pub use exchange::{Exchange, UnknownExchange};
pub use gap::FeedGap;
pub use market::{Asset, Market, MarketError};
pub use rust_decimal::Decimal;
pub use time::UtcMicros;
