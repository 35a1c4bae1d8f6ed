//! Korbit frames: decimal strings, a `snapshot: true` key on the first frame only.

use std::fmt::Write as _;

use rust_decimal::Decimal;
use tickmesh_domain::{Exchange, Level, Market, Side, format_decimal};

use crate::engine::{SimBook, SimTicker, SimTrade};

fn envelope(kind: &str, market: Market, now_ms: i64, snapshot: bool, data: &str) -> String {
    let symbol = market.to_exchange_symbol(Exchange::Korbit);
    let snap = if snapshot { r#""snapshot":true,"# } else { "" };
    format!(r#"{{"symbol":"{symbol}","timestamp":{now_ms},"type":"{kind}",{snap}"data":{data}}}"#)
}

fn s(v: Decimal) -> String {
    format_decimal(v.normalize())
}

/// A trade frame (Korbit sends trades as an array).
pub(crate) fn trade(market: Market, t: &SimTrade, snapshot: bool, now_ms: i64) -> String {
    let data = format!(
        r#"[{{"timestamp":{},"price":"{}","qty":"{}","isBuyerTaker":{},"tradeId":{}}}]"#,
        t.time_ms,
        s(t.price),
        s(t.size),
        t.side == Side::Buy,
        t.id
    );
    envelope("trade", market, now_ms, snapshot, &data)
}

/// A ticker frame.
pub(crate) fn ticker(market: Market, t: &SimTicker, book: &SimBook, snapshot: bool) -> String {
    let change = t.last - t.prev_close;
    let percent = if t.prev_close.is_zero() {
        Decimal::ZERO
    } else {
        (change * Decimal::from(100) / t.prev_close).round_dp(2)
    };
    let best = |levels: &[Level]| {
        levels
            .first()
            .map_or_else(|| "0".to_owned(), |l| s(l.price))
    };
    let data = format!(
        r#"{{"open":"{}","high":"{}","low":"{}","close":"{}","prevClose":"{}","priceChange":"{}","priceChangePercent":"{}","volume":"{}","quoteVolume":"{}","bestAskPrice":"{}","bestBidPrice":"{}","lastTradedAt":{}}}"#,
        s(t.open),
        s(t.high),
        s(t.low),
        s(t.last),
        s(t.prev_close),
        s(change),
        s(percent),
        s(t.volume),
        s(t.quote_volume),
        best(&book.asks),
        best(&book.bids),
        t.last_trade_ms
    );
    envelope("ticker", market, t.time_ms, snapshot, &data)
}

/// A book frame: every real level, no padding.
pub(crate) fn book(market: Market, b: &SimBook, snapshot: bool, now_ms: i64) -> String {
    let side = |levels: &[Level]| {
        let mut out = String::new();
        for (i, l) in levels.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            let _ = write!(out, r#"{{"price":"{}","qty":"{}"}}"#, s(l.price), s(l.size));
        }
        out
    };
    let data = format!(
        r#"{{"timestamp":{},"asks":[{}],"bids":[{}]}}"#,
        b.time_us / 1000,
        side(&b.asks),
        side(&b.bids)
    );
    envelope("orderbook", market, now_ms, snapshot, &data)
}

/// `{"status":"success","requestId":n}`.
pub(crate) fn ack(request_id: u64) -> String {
    format!(r#"{{"status":"success","requestId":{request_id}}}"#)
}

/// `{"status":"fail",...}` with the request id when the request had one.
pub(crate) fn fail(code: Option<&str>, message: &str, request_id: Option<u64>) -> String {
    let mut v = serde_json::json!({"status": "fail", "message": message});
    if let Some(code) = code {
        v["code"] = code.into();
    }
    if let Some(id) = request_id {
        v["requestId"] = id.into();
    }
    v.to_string()
}
