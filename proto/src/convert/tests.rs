use prost::Message;

use super::*;

fn d(s: &str) -> Decimal {
    parse_decimal(s).unwrap()
}

fn event(payload: Payload) -> MarketEvent {
    MarketEvent {
        exchange: Exchange::Bithumb,
        market: Market::parse("KRW-BTC").unwrap(),
        exchange_time: UtcMicros(1_790_133_505_546_514),
        received_time: UtcMicros(1_790_133_505_601_002),
        payload,
        raw: None,
    }
}

/// Every payload kind with the exchanges' awkward numbers survives encode and decode exactly.
#[test]
fn events_round_trip_through_protobuf_bytes() {
    let events = [
        event(Payload::Trade(Trade {
            trade_id: TradeId(17_883_351_803_770_004),
            price: d("1.16539E8"),
            size: d("7.9276E-4"),
            side: Side::Sell,
        })),
        event(Payload::Ticker(Ticker {
            last: d("158201000.00000000"),
            open: Some(d("0E-8")),
            high: None,
            low: Some(d("157588000")),
            prev_close: Some(d("158200000")),
            volume_24h: Some(d("2083.82485091")),
            quote_volume_24h: Some(d("95078733694.3792000000000000")),
            best_bid: None,
            best_ask: Some(d("116477000")),
        })),
        event(Payload::OrderBook(OrderBook {
            bids: vec![Level {
                price: d("3714000"),
                size: d("3.012"),
            }],
            asks: vec![
                Level {
                    price: d("3715000"),
                    size: d("8.4592"),
                },
                Level {
                    price: d("3716000"),
                    size: d("5.0E-4"),
                },
            ],
        })),
    ];
    for original in events {
        let bytes = event_to_wire(&original).encode_to_vec();
        let decoded = wire::MarketEvent::decode(bytes.as_slice()).unwrap();
        let back = event_from_wire(&decoded).unwrap();
        assert_eq!(back, original);
        // Same value and same written scale, so the text survives too.
        if let (Payload::Trade(a), Payload::Trade(b)) = (&back.payload, &original.payload) {
            assert_eq!(a.size.to_string(), b.size.to_string());
            assert_eq!(a.trade_id.0, 17_883_351_803_770_004);
        }
    }
}

#[test]
fn raw_frames_round_trip_when_kept() {
    let mut original = event(Payload::OrderBook(OrderBook::default()));
    original.raw = Some(r#"{"type":"orderbook"}"#.to_owned());
    assert_eq!(
        event_from_wire(&event_to_wire(&original)).unwrap(),
        original
    );
}

#[test]
fn invalid_wire_values_name_their_field() {
    let mut bad = event_to_wire(&event(Payload::Trade(Trade {
        trade_id: TradeId(1),
        price: d("1"),
        size: d("1"),
        side: Side::Buy,
    })));
    if let Some(wire::market_event::Payload::Trade(t)) = &mut bad.payload {
        t.price = "1.2.3".into();
    }
    let err = event_from_wire(&bad).unwrap_err();
    assert_eq!(err.field, "trade.price");
    assert_eq!(
        err.to_string(),
        "invalid trade.price: invalid decimal \"1.2.3\""
    );

    let mut no_exchange = event_to_wire(&event(Payload::OrderBook(OrderBook::default())));
    no_exchange.exchange = 0;
    assert_eq!(event_from_wire(&no_exchange).unwrap_err().field, "exchange");

    let mut bad_market = event_to_wire(&event(Payload::OrderBook(OrderBook::default())));
    bad_market.market = Some(wire::Market {
        base: "B TC".into(),
        quote: "KRW".into(),
    });
    assert_eq!(event_from_wire(&bad_market).unwrap_err().field, "market");
}

#[test]
fn enums_round_trip() {
    for exchange in Exchange::ALL {
        let value = exchange_to_wire(exchange) as i32;
        assert_eq!(exchange_from_wire("exchange", value), Ok(Some(exchange)));
    }
    assert_eq!(exchange_from_wire("exchange", 0), Ok(None));
    assert!(exchange_from_wire("exchange", 99).is_err());
    for kind in EventKind::ALL {
        assert_eq!(kind_from_wire("kinds", kind_to_wire(kind) as i32), Ok(kind));
    }
    for interval in CandleInterval::ALL {
        assert_eq!(
            interval_from_wire("interval", interval_to_wire(interval) as i32),
            Ok(interval)
        );
    }
}

#[test]
fn timestamps_keep_microseconds() {
    let t = UtcMicros(1_790_133_505_546_514);
    assert_eq!(time_from_wire("t", Some(&time_to_wire(t))), Ok(t));
    let bad = Timestamp {
        seconds: 0,
        nanos: -5,
    };
    assert!(time_from_wire("t", Some(&bad)).is_err());
    assert_eq!(time_from_wire("t", None).unwrap_err().field, "t");
}

#[test]
fn the_bus_codec_round_trips_and_names_what_is_wrong() {
    use crate::codec::{DecodeError, decode_event, encode_event};
    let original = event(Payload::Trade(Trade {
        trade_id: TradeId(17_883_351_803_770_004),
        price: d("95078733694.3792000000000000"),
        size: d("7.9276E-4"),
        side: Side::Sell,
    }));
    let decoded = decode_event(&encode_event(&original)).unwrap();
    assert_eq!(decoded, original);
    let Payload::Trade(t) = &decoded.payload else {
        panic!("{decoded:?}")
    };
    assert_eq!(t.price.to_string(), "95078733694.3792000000000000");
    assert!(matches!(
        decode_event(b"\xff\xff"),
        Err(DecodeError::Protobuf(_))
    ));
    assert!(matches!(decode_event(b""), Err(DecodeError::Invalid(_))));
}

#[test]
fn a_bad_book_level_or_market_is_named() {
    let mut book = event_to_wire(&event(Payload::OrderBook(OrderBook {
        bids: vec![
            Level {
                price: d("100"),
                size: d("1"),
            },
            Level {
                price: d("99"),
                size: d("2"),
            },
        ],
        asks: Vec::new(),
    })));
    let Some(wire::market_event::Payload::OrderBook(b)) = &mut book.payload else {
        panic!("{book:?}")
    };
    b.bids[1].size = "2..0".to_owned();
    assert_eq!(
        event_from_wire(&book).unwrap_err().field,
        "order_book.bids[1].size"
    );

    let mut trade = event_to_wire(&event(Payload::Trade(Trade {
        trade_id: TradeId(1),
        price: d("1"),
        size: d("1"),
        side: Side::Buy,
    })));
    let decoded = event_from_wire(&trade).unwrap();
    assert_eq!(decoded.market.to_string(), "BTC/KRW");
    for (base, quote) in [("KRW-BTC", "KRW"), ("", "KRW"), ("BTC", "BTC")] {
        trade.market = Some(wire::Market {
            base: base.to_owned(),
            quote: quote.to_owned(),
        });
        assert_eq!(
            event_from_wire(&trade).unwrap_err().field,
            "market",
            "{base}/{quote}"
        );
    }
}
