#![allow(clippy::unwrap_used)]

use prost::Message as _;
use tickmesh_domain::{
    Exchange, Level, Market, MarketEvent, OrderBook, Payload, Side, Ticker, Trade, TradeId,
    UtcMicros, parse_decimal,
};

use super::encode_event;
use crate::convert::event_to_wire;

fn d(text: &str) -> tickmesh_domain::Decimal {
    parse_decimal(text).unwrap()
}

fn event(payload: Payload, exchange_time: i64, raw: Option<&str>) -> MarketEvent {
    MarketEvent {
        exchange: Exchange::Bithumb,
        market: Market::parse("KRW-BTC").unwrap(),
        exchange_time: UtcMicros(exchange_time),
        received_time: UtcMicros(1_764_000_000_123_456),
        payload,
        raw: raw.map(str::to_owned),
    }
}

fn book(levels: usize) -> OrderBook {
    let level = |i: usize| Level {
        price: d(&format!("{}.5", 150_000_000 + i)),
        size: d(&format!("0.{:08}", i + 1)),
    };
    OrderBook {
        bids: (0..levels).map(level).collect(),
        asks: (0..levels / 2).map(level).collect(),
    }
}

/// Every shape the encoder has a branch for: each payload, absent and present optional
/// decimals, zero and negative times, zero ids, raw frames, and sub-messages on both sides of
/// the one-byte length (127 and 128 bytes).
fn cases() -> Vec<MarketEvent> {
    let ticker = Ticker {
        last: d("151234000"),
        open: Some(d("150000000.00")),
        high: None,
        low: Some(d("-0.0")),
        prev_close: None,
        volume_24h: Some(d("1234.56789012")),
        quote_volume_24h: Some(d("79228162514264337593543950335")),
        best_bid: None,
        best_ask: Some(d("0.00000001")),
    };
    let bare = Ticker {
        last: d("0"),
        ..Ticker::default()
    };
    let trade = |id: u64, side| Trade {
        trade_id: TradeId(id),
        price: d("151234000.5"),
        size: d("0.0001"),
        side,
    };
    let mut out = vec![
        event(Payload::Ticker(ticker), 1_764_000_000_000_001, None),
        event(Payload::Ticker(bare), 0, None),
        event(Payload::Trade(trade(u64::MAX, Side::Sell)), -1, None),
        event(
            Payload::Trade(trade(0, Side::Buy)),
            -86_400_000_000,
            Some("{}"),
        ),
        event(Payload::OrderBook(OrderBook::default()), 5, None),
        event(Payload::OrderBook(book(30)), 1_764_000_000_000_000, None),
        event(
            Payload::Trade(trade(7, Side::Buy)),
            1,
            Some(&"x".repeat(300)),
        ),
    ];
    // Books around the 128-byte message length where the length takes a second byte.
    // (k - 1) levels of 10 bytes and one of 10 to 37 bytes: every length from 10 to 167.
    for k in 1..14 {
        for digits in 1..=28 {
            let mut bids = vec![
                Level {
                    price: d("9"),
                    size: d("0.5"),
                };
                k - 1
            ];
            bids.push(Level {
                price: d(&"9".repeat(digits)),
                size: d("0.5"),
            });
            out.push(event(
                Payload::OrderBook(OrderBook {
                    bids,
                    asks: Vec::new(),
                }),
                digits as i64,
                None,
            ));
        }
    }
    out
}

#[test]
fn direct_encoding_is_what_prost_writes() {
    let mut book_lengths = std::collections::BTreeSet::new();
    for event in cases() {
        let expected = event_to_wire(&event).encode_to_vec();
        assert_eq!(encode_event(&event), expected, "{event:?}");
        assert_eq!(crate::codec::decode_event(&expected).unwrap(), event);
        if let Some(crate::market::v1::market_event::Payload::OrderBook(book)) =
            event_to_wire(&event).payload
        {
            book_lengths.insert(book.encoded_len());
        }
    }
    assert!(
        book_lengths.contains(&127) && book_lengths.contains(&128),
        "{book_lengths:?}"
    );
}

#[test]
fn a_long_message_gets_a_multi_byte_length() {
    let event = event(Payload::OrderBook(book(500)), 1, None);
    let bytes = encode_event(&event);
    assert!(bytes.len() > 16_384, "{}", bytes.len());
    assert_eq!(bytes, event_to_wire(&event).encode_to_vec());
}
