//! Market events: what the exchanges tell us, normalised.
//!
//! One [`MarketEvent`] is one ticker update, one trade or one complete order book, tagged with
//! the exchange, the market and two clocks: when the exchange says it happened and when
//! tickmesh received the frame. Keeping both lets users measure feed latency and order events
//! by exchange time even when frames arrive late or twice.

use std::fmt;
use std::str::FromStr;

use rust_decimal::Decimal;

use crate::exchange::Exchange;
use crate::market::Market;
use crate::time::UtcMicros;

/// The three kinds of market data tickmesh carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EventKind {
    /// Rolling price summary (last price, 24h range and volume).
    Ticker,
    /// One executed trade.
    Trade,
    /// A complete top-of-book snapshot.
    OrderBook,
}

impl EventKind {
    /// Every kind, in a stable order.
    pub const ALL: [EventKind; 3] = [EventKind::Ticker, EventKind::Trade, EventKind::OrderBook];

    /// Returns the lower-case name used in topics, metrics labels and CLI flags.
    pub const fn as_str(self) -> &'static str {
        match self {
            EventKind::Ticker => "ticker",
            EventKind::Trade => "trade",
            EventKind::OrderBook => "orderbook",
        }
    }
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for EventKind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "ticker" | "tickers" => Ok(EventKind::Ticker),
            "trade" | "trades" => Ok(EventKind::Trade),
            "orderbook" | "orderbooks" | "book" => Ok(EventKind::OrderBook),
            _ => Err(format!(
                "unknown event kind {s:?}: expected ticker, trade or orderbook"
            )),
        }
    }
}

/// Which side initiated a trade (the taker).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Side {
    /// A buyer lifted an ask (Upbit/Bithumb `BID`, Korbit `isBuyerTaker: true`).
    Buy,
    /// A seller hit a bid (Upbit/Bithumb `ASK`, Korbit `isBuyerTaker: false`).
    Sell,
}

/// An exchange-assigned trade identifier, unique per exchange and market.
///
/// Upbit and Bithumb `sequential_id` values exceed 2^53 (so never pass through `f64`); none seen
/// exceeds `i64::MAX`, which is what lets PostgreSQL store them as `BIGINT`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TradeId(pub u64);

impl fmt::Display for TradeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A rolling price summary. Fields an exchange does not send are `None`.
///
/// `open`, `high` and `low` cover the exchange's own window: the UTC day on Upbit, the KST day
/// on Bithumb and the last 24 hours on Korbit.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Ticker {
    /// Last traded price.
    pub last: Decimal,
    /// Opening price of the exchange's window.
    pub open: Option<Decimal>,
    /// Highest price of the window.
    pub high: Option<Decimal>,
    /// Lowest price of the window.
    pub low: Option<Decimal>,
    /// Previous close, which change figures are measured against.
    pub prev_close: Option<Decimal>,
    /// Base-asset volume over the last 24 hours.
    pub volume_24h: Option<Decimal>,
    /// Quote-asset turnover over the last 24 hours.
    pub quote_volume_24h: Option<Decimal>,
    /// Best bid price when the exchange includes it.
    pub best_bid: Option<Decimal>,
    /// Best ask price when the exchange includes it.
    pub best_ask: Option<Decimal>,
}

impl Ticker {
    /// Every price and volume in declaration order (`last` first, then `open` to `best_ask`),
    /// the order of the protobuf fields and of the database columns.
    pub fn decimals(&self) -> [Option<Decimal>; 9] {
        [
            Some(self.last),
            self.open,
            self.high,
            self.low,
            self.prev_close,
            self.volume_24h,
            self.quote_volume_24h,
            self.best_bid,
            self.best_ask,
        ]
    }
}

/// One executed trade.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trade {
    /// Exchange trade id; with exchange and market, the trade's natural key.
    pub trade_id: TradeId,
    /// Execution price in the quote asset.
    pub price: Decimal,
    /// Executed size in the base asset.
    pub size: Decimal,
    /// Taker side.
    pub side: Side,
}

/// One price level of an order book.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Level {
    /// Price in the quote asset.
    pub price: Decimal,
    /// Resting size in the base asset.
    pub size: Decimal,
}

/// A complete book: every exchange here sends whole books, never deltas.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OrderBook {
    /// Bids, best (highest) first.
    pub bids: Vec<Level>,
    /// Asks, best (lowest) first.
    pub asks: Vec<Level>,
}

/// What a market event carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Payload {
    /// A ticker update.
    Ticker(Ticker),
    /// A trade.
    Trade(Trade),
    /// An order book snapshot.
    OrderBook(OrderBook),
}

/// One normalised market-data event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MarketEvent {
    /// Where it came from.
    pub exchange: Exchange,
    /// Which pair.
    pub market: Market,
    /// When the exchange says it happened (trade time, book time or ticker time).
    pub exchange_time: UtcMicros,
    /// When tickmesh read the frame off the socket.
    pub received_time: UtcMicros,
    /// The data.
    pub payload: Payload,
    /// The frame it was parsed from, kept only when configured (for audits and replays).
    pub raw: Option<String>,
}

impl MarketEvent {
    /// Returns the kind of payload.
    pub fn kind(&self) -> EventKind {
        match self.payload {
            Payload::Ticker(_) => EventKind::Ticker,
            Payload::Trade(_) => EventKind::Trade,
            Payload::OrderBook(_) => EventKind::OrderBook,
        }
    }

    /// Returns the partition key `{exchange}:{market}` that keeps one market's events in order.
    pub fn partition_key(&self) -> String {
        format!("{}:{}", self.exchange, self.market)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_parse_from_their_names_and_plurals() {
        for kind in EventKind::ALL {
            assert_eq!(kind.as_str().parse::<EventKind>(), Ok(kind));
        }
        assert_eq!("Trades".parse::<EventKind>(), Ok(EventKind::Trade));
        assert!("candle".parse::<EventKind>().is_err());
    }

    #[test]
    fn partition_key_names_exchange_and_canonical_market() {
        let event = MarketEvent {
            exchange: Exchange::Korbit,
            market: Market::parse("btc_krw").unwrap(),
            exchange_time: UtcMicros(0),
            received_time: UtcMicros(0),
            payload: Payload::OrderBook(OrderBook::default()),
            raw: None,
        };
        assert_eq!(event.partition_key(), "korbit:BTC/KRW");
        assert_eq!(event.kind(), EventKind::OrderBook);
    }
}
