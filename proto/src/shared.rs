//! [`decode_shared`]: a `MarketEvent` decoded from a shared buffer without a `String` per field.
//!
//! The generated types hold every decimal as a `String`: decoding a ticker allocated and
//! UTF-8-checked nine strings only for storage to parse them into decimals and drop them, a
//! visible share of storage's CPU per event (docs/benchmarks.md). The messages here are the
//! same contract (the tags and types of `tickmesh/market/v1`) with text fields kept as
//! [`Bytes`] slices of the input, so prost checks the framing exactly as for the generated
//! types and copies nothing; each text is then checked as UTF-8 and parsed where the domain
//! value is made. The result and the field an error names are those of
//! [`decode_event`](crate::codec::decode_event), which the tests check on valid, broken and
//! mutated input.

use bytes::Bytes;
use prost::Message as _;
use tickmesh_domain::{
    Asset, Decimal, Level, Market, MarketEvent, OrderBook, Payload, Ticker, Trade, TradeId,
};

use crate::codec::DecodeError;
use crate::convert::{
    ConvertError, decimal_from_wire, required_exchange, side_from_wire, time_from_wire,
};

#[derive(Clone, PartialEq, prost::Message)]
struct WireEvent {
    #[prost(int32, tag = "1")]
    exchange: i32,
    #[prost(message, optional, tag = "2")]
    market: Option<WireMarket>,
    #[prost(message, optional, tag = "3")]
    exchange_time: Option<prost_types::Timestamp>,
    #[prost(message, optional, tag = "4")]
    received_time: Option<prost_types::Timestamp>,
    #[prost(oneof = "WirePayload", tags = "5, 6, 7")]
    payload: Option<WirePayload>,
    #[prost(bytes = "bytes", tag = "8")]
    raw: Bytes,
}

// One lives on the stack per decode; boxing the ticker would cost the allocation per event
// this module exists to avoid.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, PartialEq, prost::Oneof)]
enum WirePayload {
    #[prost(message, tag = "5")]
    Ticker(WireTicker),
    #[prost(message, tag = "6")]
    Trade(WireTrade),
    #[prost(message, tag = "7")]
    OrderBook(WireBook),
}

#[derive(Clone, PartialEq, prost::Message)]
struct WireMarket {
    #[prost(bytes = "bytes", tag = "1")]
    base: Bytes,
    #[prost(bytes = "bytes", tag = "2")]
    quote: Bytes,
}

#[derive(Clone, PartialEq, prost::Message)]
struct WireTicker {
    #[prost(bytes = "bytes", tag = "1")]
    last: Bytes,
    #[prost(bytes = "bytes", tag = "2")]
    open: Bytes,
    #[prost(bytes = "bytes", tag = "3")]
    high: Bytes,
    #[prost(bytes = "bytes", tag = "4")]
    low: Bytes,
    #[prost(bytes = "bytes", tag = "5")]
    prev_close: Bytes,
    #[prost(bytes = "bytes", tag = "6")]
    volume_24h: Bytes,
    #[prost(bytes = "bytes", tag = "7")]
    quote_volume_24h: Bytes,
    #[prost(bytes = "bytes", tag = "8")]
    best_bid: Bytes,
    #[prost(bytes = "bytes", tag = "9")]
    best_ask: Bytes,
}

#[derive(Clone, PartialEq, prost::Message)]
struct WireTrade {
    #[prost(uint64, tag = "1")]
    trade_id: u64,
    #[prost(bytes = "bytes", tag = "2")]
    price: Bytes,
    #[prost(bytes = "bytes", tag = "3")]
    size: Bytes,
    #[prost(int32, tag = "4")]
    side: i32,
}

#[derive(Clone, PartialEq, prost::Message)]
struct WireBook {
    #[prost(message, repeated, tag = "1")]
    bids: Vec<WireLevel>,
    #[prost(message, repeated, tag = "2")]
    asks: Vec<WireLevel>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct WireLevel {
    #[prost(bytes = "bytes", tag = "1")]
    price: Bytes,
    #[prost(bytes = "bytes", tag = "2")]
    size: Bytes,
}

/// Decodes an encoded event held in `bytes`, naming the first invalid field, as
/// [`decode_event`](crate::codec::decode_event) does; text that is not UTF-8 is named as an
/// invalid field rather than a broken message.
pub fn decode_shared(bytes: &Bytes) -> Result<MarketEvent, DecodeError> {
    // Cloning `Bytes` shares the buffer; the text fields become slices of it.
    let wire = WireEvent::decode(bytes.clone())?;
    let payload = match &wire.payload {
        Some(WirePayload::Ticker(t)) => Payload::Ticker(ticker(t).map_err(|e| e.within("ticker"))?),
        Some(WirePayload::Trade(t)) => Payload::Trade(trade(t).map_err(|e| e.within("trade"))?),
        Some(WirePayload::OrderBook(b)) => Payload::OrderBook(OrderBook {
            bids: levels("order_book.bids", &b.bids)?,
            asks: levels("order_book.asks", &b.asks)?,
        }),
        None => {
            return Err(
                ConvertError::new("payload", "a ticker, trade or order book is required").into(),
            );
        }
    };
    Ok(MarketEvent {
        exchange: required_exchange("exchange", wire.exchange)?,
        market: market("market", wire.market.as_ref())?,
        exchange_time: time_from_wire("exchange_time", wire.exchange_time.as_ref())?,
        received_time: time_from_wire("received_time", wire.received_time.as_ref())?,
        payload,
        raw: match text("raw", &wire.raw)? {
            "" => None,
            raw => Some(raw.to_owned()),
        },
    })
}

/// `bytes` as UTF-8 text, as the generated types would have required.
fn text<'a>(field: &str, bytes: &'a [u8]) -> Result<&'a str, ConvertError> {
    std::str::from_utf8(bytes).map_err(|e| ConvertError::new(field, e.to_string()))
}

fn decimal(field: &str, bytes: &[u8]) -> Result<Decimal, ConvertError> {
    decimal_from_wire(field, text(field, bytes)?)
}

fn optional_decimal(field: &str, bytes: &[u8]) -> Result<Option<Decimal>, ConvertError> {
    if bytes.is_empty() {
        return Ok(None);
    }
    decimal(field, bytes).map(Some)
}

fn market(field: &str, market: Option<&WireMarket>) -> Result<Market, ConvertError> {
    let m = market.ok_or_else(|| ConvertError::new(field, "a market is required"))?;
    let asset = |code: &[u8]| {
        Asset::parse(text(field, code)?).map_err(|e| ConvertError::new(field, e.to_string()))
    };
    Market::new(asset(&m.base)?, asset(&m.quote)?)
        .map_err(|e| ConvertError::new(field, e.to_string()))
}

fn ticker(t: &WireTicker) -> Result<Ticker, ConvertError> {
    Ok(Ticker {
        last: decimal("last", &t.last)?,
        open: optional_decimal("open", &t.open)?,
        high: optional_decimal("high", &t.high)?,
        low: optional_decimal("low", &t.low)?,
        prev_close: optional_decimal("prev_close", &t.prev_close)?,
        volume_24h: optional_decimal("volume_24h", &t.volume_24h)?,
        quote_volume_24h: optional_decimal("quote_volume_24h", &t.quote_volume_24h)?,
        best_bid: optional_decimal("best_bid", &t.best_bid)?,
        best_ask: optional_decimal("best_ask", &t.best_ask)?,
    })
}

fn trade(t: &WireTrade) -> Result<Trade, ConvertError> {
    Ok(Trade {
        trade_id: TradeId(t.trade_id),
        price: decimal("price", &t.price)?,
        size: decimal("size", &t.size)?,
        side: side_from_wire(t.side)?,
    })
}

fn levels(side: &str, levels: &[WireLevel]) -> Result<Vec<Level>, ConvertError> {
    levels
        .iter()
        .enumerate()
        .map(|(i, l)| {
            // The field name is only spelled out on failure.
            let named = |e: ConvertError, name: &str| {
                ConvertError::new(format!("{side}[{i}].{name}"), e.reason)
            };
            Ok(Level {
                price: decimal("price", &l.price).map_err(|e| named(e, "price"))?,
                size: decimal("size", &l.size).map_err(|e| named(e, "size"))?,
            })
        })
        .collect()
}

#[cfg(test)]
#[path = "shared_tests.rs"]
mod tests;
