//! What a router needs from an encoded `MarketEvent`, read without decoding its payload.
//!
//! The bridge forwards every event to its kind's Kafka topic and reports how old the oldest
//! one was. A full decode would parse every price and size (a book has dozens) only to throw
//! them away; [`read_envelope`] checks the protobuf structure of the whole message and the
//! fields routing relies on (exchange, market, received time, a payload), and leaves the
//! payload's numbers to whoever stores or shows them (storage dead-letters what it cannot
//! store).
//!
//! Storage keeps one order book per market and interval and drops the rest; [`read_book_key`]
//! gives it a book's market and exchange time, so it can tell a book it will drop before
//! decoding its levels.

use bytes::Bytes;
use prost::Message as _;
use tickmesh_domain::{EventKind, Exchange, Market, UtcMicros};

use crate::codec::DecodeError;
use crate::convert::{ConvertError, market_from_wire, required_exchange, time_from_wire};
use crate::market::v1 as wire;

/// The routing facts of one encoded event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Envelope {
    /// Where the event comes from.
    pub exchange: Exchange,
    /// Ticker, trade or order book: which topic it goes to.
    pub kind: EventKind,
    /// When tickmesh received it.
    pub received_time: UtcMicros,
}

/// `tickmesh.market.v1.MarketEvent` with its nested messages kept as bytes: decoding it
/// checks the framing of every field, copies nothing (the input is [`Bytes`]) and allocates
/// nothing. The tags are the contract's; fields routing does not need are skipped.
#[derive(Clone, PartialEq, prost::Message)]
struct Wire {
    #[prost(int32, tag = "1")]
    exchange: i32,
    #[prost(bytes = "bytes", tag = "2")]
    market: Bytes,
    #[prost(message, optional, tag = "3")]
    exchange_time: Option<prost_types::Timestamp>,
    #[prost(message, optional, tag = "4")]
    received_time: Option<prost_types::Timestamp>,
    #[prost(oneof = "Body", tags = "5, 6, 7")]
    body: Option<Body>,
}

#[derive(Clone, PartialEq, prost::Oneof)]
enum Body {
    #[prost(bytes = "bytes", tag = "5")]
    Ticker(Bytes),
    #[prost(bytes = "bytes", tag = "6")]
    Trade(Bytes),
    #[prost(bytes = "bytes", tag = "7")]
    OrderBook(Bytes),
}

/// Reads the envelope of an encoded event; the error names what is missing or malformed.
pub fn read_envelope(bytes: &Bytes) -> Result<Envelope, DecodeError> {
    // Cloning `Bytes` shares the buffer; the nested fields become slices of it.
    let wire = Wire::decode(bytes.clone())?;
    let exchange = required_exchange("exchange", wire.exchange)?;
    if wire.market.is_empty() {
        return Err(ConvertError::new("market", "a market is required").into());
    }
    let received_time = time_from_wire("received_time", wire.received_time.as_ref())?;
    let kind = match wire.body {
        Some(Body::Ticker(_)) => EventKind::Ticker,
        Some(Body::Trade(_)) => EventKind::Trade,
        Some(Body::OrderBook(_)) => EventKind::OrderBook,
        None => return Err(ConvertError::new("payload", "a payload is required").into()),
    };
    Ok(Envelope {
        exchange,
        kind,
        received_time,
    })
}

/// Which order book an encoded event is: its market and exchange time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BookKey {
    /// Where the book comes from.
    pub exchange: Exchange,
    /// Its market.
    pub market: Market,
    /// When the exchange says the book was current.
    pub exchange_time: UtcMicros,
}

/// The [`BookKey`] of an encoded order book; `None` for other kinds. Only the envelope is
/// read: the levels are neither decoded nor checked.
pub fn read_book_key(bytes: &Bytes) -> Result<Option<BookKey>, DecodeError> {
    let wire = Wire::decode(bytes.clone())?;
    if !matches!(wire.body, Some(Body::OrderBook(_))) {
        return Ok(None);
    }
    let market = wire::Market::decode(wire.market)?;
    Ok(Some(BookKey {
        exchange: required_exchange("exchange", wire.exchange)?,
        market: market_from_wire("market", Some(&market))?,
        exchange_time: time_from_wire("exchange_time", wire.exchange_time.as_ref())?,
    }))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use tickmesh_domain::{
        Level, Market, MarketEvent, OrderBook, Payload, Side, Ticker, Trade, TradeId,
    };

    use super::*;
    use crate::codec::encode_event;
    use crate::convert::event_to_wire;

    fn event(payload: Payload) -> MarketEvent {
        MarketEvent {
            exchange: Exchange::Korbit,
            market: Market::parse("btc_krw").unwrap(),
            exchange_time: UtcMicros(1_700_000_000_000_000),
            received_time: UtcMicros(1_700_000_000_123_456),
            payload,
            raw: Some("{\"raw\":true}".to_owned()),
        }
    }

    fn payloads() -> [Payload; 3] {
        let one = tickmesh_domain::parse_decimal("1.5").unwrap();
        [
            Payload::Ticker(Ticker {
                last: one,
                ..Ticker::default()
            }),
            Payload::Trade(Trade {
                trade_id: TradeId(9),
                price: one,
                size: one,
                side: Side::Buy,
            }),
            Payload::OrderBook(OrderBook {
                bids: vec![Level {
                    price: one,
                    size: one,
                }],
                asks: Vec::new(),
            }),
        ]
    }

    #[test]
    fn the_envelope_agrees_with_a_full_decode() {
        for payload in payloads() {
            let event = event(payload);
            let bytes = Bytes::from(encode_event(&event));
            let envelope = read_envelope(&bytes).unwrap();
            assert_eq!(envelope.exchange, event.exchange);
            assert_eq!(envelope.kind, event.kind());
            assert_eq!(envelope.received_time, event.received_time);
        }
    }

    #[test]
    fn a_book_key_agrees_with_a_full_decode_and_other_kinds_have_none() {
        for payload in payloads() {
            let event = event(payload);
            let key = read_book_key(&Bytes::from(encode_event(&event))).unwrap();
            match event.kind() {
                EventKind::OrderBook => assert_eq!(
                    key,
                    Some(BookKey {
                        exchange: event.exchange,
                        market: event.market,
                        exchange_time: event.exchange_time,
                    })
                ),
                _ => assert_eq!(key, None),
            }
        }
        assert!(read_book_key(&Bytes::from_static(b"garbage")).is_err());
    }

    #[test]
    fn broken_framing_and_missing_routing_fields_are_named() {
        let err = |bytes: Vec<u8>| read_envelope(&Bytes::from(bytes)).unwrap_err();
        assert!(matches!(err(b"garbage".to_vec()), DecodeError::Protobuf(_)));
        // A length prefix longer than what follows.
        let whole = encode_event(&event(payloads()[1].clone()));
        assert!(matches!(
            err(whole[..whole.len() - 1].to_vec()),
            DecodeError::Protobuf(_)
        ));
        let field_of = |e: DecodeError| match e {
            DecodeError::Invalid(c) => c.field,
            other => panic!("{other:?}"),
        };
        let mut wire = event_to_wire(&event(payloads()[0].clone()));
        wire.payload = None;
        assert_eq!(field_of(err(wire.encode_to_vec())), "payload");
        let mut wire = event_to_wire(&event(payloads()[0].clone()));
        wire.market = None;
        assert_eq!(field_of(err(wire.encode_to_vec())), "market");
        let mut wire = event_to_wire(&event(payloads()[0].clone()));
        wire.received_time = None;
        assert_eq!(field_of(err(wire.encode_to_vec())), "received_time");
        let mut wire = event_to_wire(&event(payloads()[0].clone()));
        wire.exchange = 42;
        assert_eq!(field_of(err(wire.encode_to_vec())), "exchange");
    }
}
