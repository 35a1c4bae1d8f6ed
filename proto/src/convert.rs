//! Conversions between the wire types and the domain model.
//!
//! Domain to wire is infallible. Wire to domain validates and names the offending field in a
//! [`ConvertError`], which the gRPC edge turns into `INVALID_ARGUMENT`.

use prost_types::Timestamp;
use tickmesh_domain::{
    Asset, Candle, CandleInterval, Decimal, EventKind, Exchange, Level, Market, MarketEvent,
    OrderBook, Payload, Side, Ticker, Trade, TradeId, UtcMicros, parse_decimal,
};

use crate::history::v1 as history;
use crate::market::v1 as wire;

/// A wire value that does not make a valid domain value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {field}: {reason}")]
pub struct ConvertError {
    /// The field path, as a client would write it (`market`, `event.trade.price`).
    pub field: String,
    /// What is wrong with it.
    pub reason: String,
}

impl From<ConvertError> for tonic::Status {
    fn from(e: ConvertError) -> tonic::Status {
        e.into_status()
    }
}

impl ConvertError {
    /// Builds an error for `field`.
    pub fn new(field: impl Into<String>, reason: impl Into<String>) -> ConvertError {
        ConvertError {
            field: field.into(),
            reason: reason.into(),
        }
    }

    /// The gRPC status for this error: `INVALID_ARGUMENT`, naming the field.
    pub fn into_status(self) -> tonic::Status {
        tonic::Status::invalid_argument(self.to_string())
    }

    pub(crate) fn within(self, parent: &str) -> ConvertError {
        ConvertError {
            field: format!("{parent}.{}", self.field),
            reason: self.reason,
        }
    }
}

/// Converts a domain exchange to its wire enum value.
pub fn exchange_to_wire(exchange: Exchange) -> wire::Exchange {
    match exchange {
        Exchange::Upbit => wire::Exchange::Upbit,
        Exchange::Bithumb => wire::Exchange::Bithumb,
        Exchange::Korbit => wire::Exchange::Korbit,
    }
}

/// Reads an optional exchange: `EXCHANGE_UNSPECIFIED` is `None` (meaning "all" in requests).
pub fn exchange_from_wire(field: &str, value: i32) -> Result<Option<Exchange>, ConvertError> {
    match wire::Exchange::try_from(value) {
        Ok(wire::Exchange::Unspecified) => Ok(None),
        Ok(wire::Exchange::Upbit) => Ok(Some(Exchange::Upbit)),
        Ok(wire::Exchange::Bithumb) => Ok(Some(Exchange::Bithumb)),
        Ok(wire::Exchange::Korbit) => Ok(Some(Exchange::Korbit)),
        Err(_) => Err(ConvertError::new(
            field,
            format!("unknown exchange value {value}"),
        )),
    }
}

/// Reads an exchange that must be given.
pub fn required_exchange(field: &str, value: i32) -> Result<Exchange, ConvertError> {
    exchange_from_wire(field, value)?
        .ok_or_else(|| ConvertError::new(field, "an exchange is required"))
}

/// Converts an event kind to its wire enum value.
pub fn kind_to_wire(kind: EventKind) -> wire::EventKind {
    match kind {
        EventKind::Ticker => wire::EventKind::Ticker,
        EventKind::Trade => wire::EventKind::Trade,
        EventKind::OrderBook => wire::EventKind::OrderBook,
    }
}

/// Reads an event kind; unspecified is rejected.
pub fn kind_from_wire(field: &str, value: i32) -> Result<EventKind, ConvertError> {
    match wire::EventKind::try_from(value) {
        Ok(wire::EventKind::Ticker) => Ok(EventKind::Ticker),
        Ok(wire::EventKind::Trade) => Ok(EventKind::Trade),
        Ok(wire::EventKind::OrderBook) => Ok(EventKind::OrderBook),
        Ok(wire::EventKind::Unspecified) => Err(ConvertError::new(field, "a kind is required")),
        Err(_) => Err(ConvertError::new(
            field,
            format!("unknown event kind value {value}"),
        )),
    }
}

/// Converts a market to its wire form.
pub fn market_to_wire(market: Market) -> wire::Market {
    wire::Market {
        base: market.base.as_str().to_owned(),
        quote: market.quote.as_str().to_owned(),
    }
}

/// Reads a wire market.
pub fn market_from_wire(
    field: &str,
    market: Option<&wire::Market>,
) -> Result<Market, ConvertError> {
    let m = market.ok_or_else(|| ConvertError::new(field, "a market is required"))?;
    let asset =
        |code: &str| Asset::parse(code).map_err(|e| ConvertError::new(field, e.to_string()));
    Market::new(asset(&m.base)?, asset(&m.quote)?)
        .map_err(|e| ConvertError::new(field, e.to_string()))
}

/// Parses a market in any accepted spelling from a request string.
pub fn market_from_text(field: &str, text: &str) -> Result<Market, ConvertError> {
    Market::parse(text).map_err(|e| ConvertError::new(field, e.to_string()))
}

/// Converts a timestamp to the protobuf well-known type.
pub fn time_to_wire(t: UtcMicros) -> Timestamp {
    let (seconds, nanos) = t.as_seconds_and_nanos();
    Timestamp { seconds, nanos }
}

/// Reads a timestamp; sub-microsecond digits are truncated.
pub fn time_from_wire(field: &str, t: Option<&Timestamp>) -> Result<UtcMicros, ConvertError> {
    let t = t.ok_or_else(|| ConvertError::new(field, "a timestamp is required"))?;
    if !(0..1_000_000_000).contains(&t.nanos) {
        return Err(ConvertError::new(
            field,
            format!("nanos {} out of range", t.nanos),
        ));
    }
    Ok(UtcMicros::from_seconds_and_nanos(t.seconds, t.nanos))
}

fn decimal_to_wire(value: Decimal) -> String {
    tickmesh_domain::format_decimal(value)
}

fn optional_decimal_to_wire(value: Option<Decimal>) -> String {
    value.map(decimal_to_wire).unwrap_or_default()
}

pub(crate) fn decimal_from_wire(field: &str, text: &str) -> Result<Decimal, ConvertError> {
    parse_decimal(text).map_err(|e| ConvertError::new(field, e.to_string()))
}

fn optional_decimal_from_wire(field: &str, text: &str) -> Result<Option<Decimal>, ConvertError> {
    if text.is_empty() {
        return Ok(None);
    }
    decimal_from_wire(field, text).map(Some)
}

/// Converts a ticker to its wire form; absent values become empty strings.
pub fn ticker_to_wire(t: &Ticker) -> wire::Ticker {
    wire::Ticker {
        last: decimal_to_wire(t.last),
        open: optional_decimal_to_wire(t.open),
        high: optional_decimal_to_wire(t.high),
        low: optional_decimal_to_wire(t.low),
        prev_close: optional_decimal_to_wire(t.prev_close),
        volume_24h: optional_decimal_to_wire(t.volume_24h),
        quote_volume_24h: optional_decimal_to_wire(t.quote_volume_24h),
        best_bid: optional_decimal_to_wire(t.best_bid),
        best_ask: optional_decimal_to_wire(t.best_ask),
    }
}

/// Reads a wire ticker.
pub fn ticker_from_wire(t: &wire::Ticker) -> Result<Ticker, ConvertError> {
    Ok(Ticker {
        last: decimal_from_wire("last", &t.last)?,
        open: optional_decimal_from_wire("open", &t.open)?,
        high: optional_decimal_from_wire("high", &t.high)?,
        low: optional_decimal_from_wire("low", &t.low)?,
        prev_close: optional_decimal_from_wire("prev_close", &t.prev_close)?,
        volume_24h: optional_decimal_from_wire("volume_24h", &t.volume_24h)?,
        quote_volume_24h: optional_decimal_from_wire("quote_volume_24h", &t.quote_volume_24h)?,
        best_bid: optional_decimal_from_wire("best_bid", &t.best_bid)?,
        best_ask: optional_decimal_from_wire("best_ask", &t.best_ask)?,
    })
}

/// Converts a trade to its wire form.
pub fn trade_to_wire(t: &Trade) -> wire::Trade {
    wire::Trade {
        trade_id: t.trade_id.0,
        price: decimal_to_wire(t.price),
        size: decimal_to_wire(t.size),
        side: match t.side {
            Side::Buy => wire::Side::Buy,
            Side::Sell => wire::Side::Sell,
        } as i32,
    }
}

/// Reads a wire trade.
pub fn trade_from_wire(t: &wire::Trade) -> Result<Trade, ConvertError> {
    Ok(Trade {
        trade_id: TradeId(t.trade_id),
        price: decimal_from_wire("price", &t.price)?,
        size: decimal_from_wire("size", &t.size)?,
        side: side_from_wire(t.side)?,
    })
}

/// Reads a wire `Side` value; "unspecified" and unknown values are errors.
pub(crate) fn side_from_wire(value: i32) -> Result<Side, ConvertError> {
    match wire::Side::try_from(value) {
        Ok(wire::Side::Buy) => Ok(Side::Buy),
        Ok(wire::Side::Sell) => Ok(Side::Sell),
        _ => Err(ConvertError::new(
            "side",
            format!("unknown side value {value}"),
        )),
    }
}

fn levels_to_wire(levels: &[Level]) -> Vec<wire::Level> {
    levels
        .iter()
        .map(|l| wire::Level {
            price: decimal_to_wire(l.price),
            size: decimal_to_wire(l.size),
        })
        .collect()
}

fn levels_from_wire(side: &str, levels: &[wire::Level]) -> Result<Vec<Level>, ConvertError> {
    levels
        .iter()
        .enumerate()
        .map(|(i, l)| {
            // The field name is only spelled out on failure: a book has dozens of levels
            // and most decode without error.
            let field = |name: &str| format!("{side}[{i}].{name}");
            Ok(Level {
                price: parse_decimal(&l.price)
                    .map_err(|e| ConvertError::new(field("price"), e.to_string()))?,
                size: parse_decimal(&l.size)
                    .map_err(|e| ConvertError::new(field("size"), e.to_string()))?,
            })
        })
        .collect()
}

/// Converts a domain event to its wire form.
pub fn event_to_wire(event: &MarketEvent) -> wire::MarketEvent {
    let payload = match &event.payload {
        Payload::Ticker(t) => wire::market_event::Payload::Ticker(ticker_to_wire(t)),
        Payload::Trade(t) => wire::market_event::Payload::Trade(trade_to_wire(t)),
        Payload::OrderBook(b) => wire::market_event::Payload::OrderBook(wire::OrderBook {
            bids: levels_to_wire(&b.bids),
            asks: levels_to_wire(&b.asks),
        }),
    };
    wire::MarketEvent {
        exchange: exchange_to_wire(event.exchange) as i32,
        market: Some(market_to_wire(event.market)),
        exchange_time: Some(time_to_wire(event.exchange_time)),
        received_time: Some(time_to_wire(event.received_time)),
        payload: Some(payload),
        raw: event.raw.clone().unwrap_or_default(),
    }
}

/// Reads a wire event, naming the first invalid field.
pub fn event_from_wire(event: &wire::MarketEvent) -> Result<MarketEvent, ConvertError> {
    let payload = match &event.payload {
        Some(wire::market_event::Payload::Ticker(t)) => {
            Payload::Ticker(ticker_from_wire(t).map_err(|e| e.within("ticker"))?)
        }
        Some(wire::market_event::Payload::Trade(t)) => {
            Payload::Trade(trade_from_wire(t).map_err(|e| e.within("trade"))?)
        }
        Some(wire::market_event::Payload::OrderBook(b)) => Payload::OrderBook(OrderBook {
            bids: levels_from_wire("order_book.bids", &b.bids)?,
            asks: levels_from_wire("order_book.asks", &b.asks)?,
        }),
        None => {
            return Err(ConvertError::new(
                "payload",
                "a ticker, trade or order book is required",
            ));
        }
    };
    Ok(MarketEvent {
        exchange: required_exchange("exchange", event.exchange)?,
        market: market_from_wire("market", event.market.as_ref())?,
        exchange_time: time_from_wire("exchange_time", event.exchange_time.as_ref())?,
        received_time: time_from_wire("received_time", event.received_time.as_ref())?,
        payload,
        raw: (!event.raw.is_empty()).then(|| event.raw.clone()),
    })
}

/// Converts a candle interval to its wire enum value.
pub fn interval_to_wire(interval: CandleInterval) -> history::CandleInterval {
    match interval {
        CandleInterval::OneMinute => history::CandleInterval::CandleInterval1m,
        CandleInterval::FiveMinutes => history::CandleInterval::CandleInterval5m,
        CandleInterval::FifteenMinutes => history::CandleInterval::CandleInterval15m,
        CandleInterval::OneHour => history::CandleInterval::CandleInterval1h,
        CandleInterval::OneDay => history::CandleInterval::CandleInterval1d,
    }
}

/// Reads a candle interval; unspecified means one minute.
pub fn interval_from_wire(field: &str, value: i32) -> Result<CandleInterval, ConvertError> {
    match history::CandleInterval::try_from(value) {
        Ok(history::CandleInterval::Unspecified | history::CandleInterval::CandleInterval1m) => {
            Ok(CandleInterval::OneMinute)
        }
        Ok(history::CandleInterval::CandleInterval5m) => Ok(CandleInterval::FiveMinutes),
        Ok(history::CandleInterval::CandleInterval15m) => Ok(CandleInterval::FifteenMinutes),
        Ok(history::CandleInterval::CandleInterval1h) => Ok(CandleInterval::OneHour),
        Ok(history::CandleInterval::CandleInterval1d) => Ok(CandleInterval::OneDay),
        Err(_) => Err(ConvertError::new(
            field,
            format!("unknown interval value {value}"),
        )),
    }
}

/// Converts a candle to its wire form (the first and last trade ids stay server-side).
pub fn candle_to_wire(c: &Candle) -> history::Candle {
    history::Candle {
        open_time: Some(time_to_wire(c.open_time)),
        open: decimal_to_wire(c.open),
        high: decimal_to_wire(c.high),
        low: decimal_to_wire(c.low),
        close: decimal_to_wire(c.close),
        volume: decimal_to_wire(c.volume),
        quote_volume: decimal_to_wire(c.quote_volume),
        trade_count: c.trade_count,
    }
}

#[cfg(test)]
mod tests;
