//! Assertion helpers shared by the exchanges' table-driven tests.

use tickmesh_domain::{
    Decimal, Level, MarketEvent, OrderBook, Payload, Side, Ticker, Trade, TradeId, UtcMicros,
};

use crate::quotation::frames::Frame;
use crate::{Control, FrameError};

/// The receipt time every test frame is stamped with.
pub(crate) const RECEIVED: UtcMicros = UtcMicros(1_800_000_000_000_000);

pub(crate) type Parser =
    fn(&[u8], UtcMicros, bool, &mut Vec<MarketEvent>) -> Result<Control, FrameError>;

pub(crate) fn d(text: &str) -> Decimal {
    tickmesh_domain::parse_decimal(text).unwrap()
}

/// The scanner and serde read a frame alike wherever the scanner reads it at all.
fn scan_agrees(frame: &str) {
    if let Some(scanned) = Frame::scan(frame) {
        let parsed: Frame<'_> = serde_json::from_str(frame)
            .unwrap_or_else(|e| panic!("serde refuses ({e}) a frame the scanner read: {frame}"));
        assert_eq!(format!("{scanned:?}"), format!("{parsed:?}"), "{frame}");
    }
}

/// Parses one frame that must yield exactly one event.
pub(crate) fn one(parse: Parser, frame: &str) -> MarketEvent {
    scan_agrees(frame);
    let mut out = Vec::new();
    let control = parse(frame.as_bytes(), RECEIVED, false, &mut out)
        .unwrap_or_else(|e| panic!("{e}\nframe: {frame}"));
    assert_eq!(control, Control::Data);
    assert_eq!(out.len(), 1, "{frame}");
    out.pop().unwrap()
}

pub(crate) fn control(parse: Parser, frame: &str) -> Control {
    scan_agrees(frame);
    let mut out = Vec::new();
    let control = parse(frame.as_bytes(), RECEIVED, false, &mut out)
        .unwrap_or_else(|e| panic!("{e}\nframe: {frame}"));
    assert!(out.is_empty());
    control
}

pub(crate) fn trade(event: &MarketEvent) -> &Trade {
    match &event.payload {
        Payload::Trade(t) => t,
        other => panic!("expected a trade, got {other:?}"),
    }
}

pub(crate) fn ticker(event: &MarketEvent) -> &Ticker {
    match &event.payload {
        Payload::Ticker(t) => t,
        other => panic!("expected a ticker, got {other:?}"),
    }
}

pub(crate) fn book(event: &MarketEvent) -> &OrderBook {
    match &event.payload {
        Payload::OrderBook(b) => b,
        other => panic!("expected an order book, got {other:?}"),
    }
}

pub(crate) fn levels(pairs: &[(&str, &str)]) -> Vec<Level> {
    pairs
        .iter()
        .map(|(p, s)| Level {
            price: d(p),
            size: d(s),
        })
        .collect()
}

/// The expected trade: id, price, size, side, exchange time in ms.
pub(crate) fn assert_trade(
    event: &MarketEvent,
    id: u64,
    price: &str,
    size: &str,
    side: Side,
    ms: i64,
) {
    let t = trade(event);
    assert_eq!(t.trade_id, TradeId(id));
    assert_eq!(t.price, d(price));
    assert_eq!(t.price.to_string(), d(price).to_string(), "scale kept");
    assert_eq!(t.size, d(size));
    assert_eq!(t.side, side);
    assert_eq!(event.exchange_time, UtcMicros::from_millis(ms));
    assert_eq!(event.received_time, RECEIVED);
}
