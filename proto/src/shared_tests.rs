#![allow(clippy::unwrap_used)]

use bytes::Bytes;
use tickmesh_domain::{
    Exchange, Level, Market, MarketEvent, OrderBook, Payload, Side, Ticker, Trade, TradeId,
    UtcMicros, parse_decimal,
};

use super::decode_shared;
use crate::codec::{DecodeError, decode_event, encode_event};

fn d(text: &str) -> tickmesh_domain::Decimal {
    parse_decimal(text).unwrap()
}

fn events() -> Vec<MarketEvent> {
    let event = |payload, raw: Option<&str>| MarketEvent {
        exchange: Exchange::Upbit,
        market: Market::parse("KRW-BTC").unwrap(),
        exchange_time: UtcMicros(1_764_000_000_000_001),
        received_time: UtcMicros(1_764_000_000_123_456),
        payload,
        raw: raw.map(str::to_owned),
    };
    vec![
        event(
            Payload::Ticker(Ticker {
                last: d("151234000"),
                open: Some(d("150000000.00")),
                high: None,
                low: Some(d("0.00000000")),
                prev_close: None,
                volume_24h: Some(d("1234.56789012")),
                quote_volume_24h: Some(d("79228162514264337593543950335")),
                best_bid: None,
                best_ask: Some(d("0.00000001")),
            }),
            None,
        ),
        event(
            Payload::Ticker(Ticker {
                last: d("0"),
                ..Ticker::default()
            }),
            Some("{\"type\":\"ticker\"}"),
        ),
        event(
            Payload::Trade(Trade {
                trade_id: TradeId(u64::MAX),
                price: d("151234000.5"),
                size: d("0.0001"),
                side: Side::Sell,
            }),
            None,
        ),
        event(
            Payload::OrderBook(OrderBook {
                bids: (0..3)
                    .map(|i| Level {
                        price: d(&format!("{}.5", 100 + i)),
                        size: d("2"),
                    })
                    .collect(),
                asks: Vec::new(),
            }),
            None,
        ),
    ]
}

/// The same answer as the generated types': the same event, or an error for the same field
/// (text that is not UTF-8 is a broken message to one and an invalid field to the other).
fn assert_agrees(bytes: &[u8]) {
    let reference = decode_event(bytes);
    let shared = decode_shared(&Bytes::copy_from_slice(bytes));
    match (&reference, &shared) {
        (Ok(a), Ok(b)) => assert_eq!(a, b, "{bytes:?}"),
        (Err(DecodeError::Invalid(a)), Err(DecodeError::Invalid(b))) => {
            assert_eq!(a.field, b.field, "{bytes:?}")
        }
        (Err(_), Err(_)) => {}
        _ => panic!("{bytes:?}: generated types {reference:?}, shared {shared:?}"),
    }
}

#[test]
fn every_kind_decodes_as_with_the_generated_types() {
    for event in events() {
        let bytes = encode_event(&event);
        assert_eq!(decode_shared(&Bytes::from(bytes.clone())).unwrap(), event);
        assert_agrees(&bytes);
    }
}

#[test]
fn cut_and_mutated_messages_get_the_same_answer() {
    for event in events() {
        let bytes = encode_event(&event);
        for len in 0..bytes.len() {
            assert_agrees(&bytes[..len]);
        }
        for at in 0..bytes.len() {
            for change in [0x00, 0xff, 0x80, 0x7f, bytes[at] ^ 0x01, bytes[at] ^ 0x40] {
                let mut mutated = bytes.clone();
                mutated[at] = change;
                assert_agrees(&mutated);
            }
        }
    }
}

#[test]
fn invalid_fields_are_named() {
    let field = |bytes: Vec<u8>| match decode_shared(&Bytes::from(bytes)).unwrap_err() {
        DecodeError::Invalid(e) => e.field,
        other => panic!("{other:?}"),
    };
    let mut wire = crate::convert::event_to_wire(&events()[2]);
    if let Some(crate::market::v1::market_event::Payload::Trade(t)) = &mut wire.payload {
        t.price = "1.2.3".to_owned();
    }
    assert_eq!(field(prost::Message::encode_to_vec(&wire)), "trade.price");
    let mut wire = crate::convert::event_to_wire(&events()[3]);
    if let Some(crate::market::v1::market_event::Payload::OrderBook(b)) = &mut wire.payload {
        b.bids[1].size = "-".to_owned();
    }
    assert_eq!(
        field(prost::Message::encode_to_vec(&wire)),
        "order_book.bids[1].size"
    );
    // Text that is not UTF-8 where a decimal belongs.
    let mut bytes = encode_event(&events()[2]);
    let at = bytes.windows(11).position(|w| w == b"151234000.5").unwrap();
    bytes[at] = 0xff;
    assert_eq!(field(bytes), "trade.price");
}
