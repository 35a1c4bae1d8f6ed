//! Korbit frames: decimal strings, a `snapshot: true` key on the first frame only.

use rust_decimal::Decimal;
use tickmesh_domain::{Exchange, Level, Market, Side};

use super::{push_int, push_plain, push_symbol};
use crate::engine::{SimBook, SimTicker, SimTrade};

/// Starts a frame: the envelope up to and including `"data":`.
fn open(kind: &str, market: Market, now_ms: i64, snapshot: bool, capacity: usize) -> String {
    let mut out = String::with_capacity(capacity);
    out.push_str("{\"symbol\":\"");
    push_symbol(&mut out, market, Exchange::Korbit);
    out.push_str("\",\"timestamp\":");
    push_int(&mut out, now_ms);
    out.push_str(",\"type\":\"");
    out.push_str(kind);
    out.push_str("\",");
    if snapshot {
        out.push_str("\"snapshot\":true,");
    }
    out.push_str("\"data\":");
    out
}

/// Appends `"name":"decimal"`, the decimal without trailing zeros.
fn decimal_member(out: &mut String, name: &str, value: Decimal) {
    out.push('"');
    out.push_str(name);
    out.push_str("\":\"");
    push_plain(out, value);
    out.push('"');
}

/// A trade frame (Korbit sends trades as an array).
pub(crate) fn trade(market: Market, t: &SimTrade, snapshot: bool, now_ms: i64) -> String {
    let mut out = open("trade", market, now_ms, snapshot, 224);
    out.push_str("[{\"timestamp\":");
    push_int(&mut out, t.time_ms);
    out.push(',');
    decimal_member(&mut out, "price", t.price);
    out.push(',');
    decimal_member(&mut out, "qty", t.size);
    out.push_str(if t.side == Side::Buy {
        ",\"isBuyerTaker\":true"
    } else {
        ",\"isBuyerTaker\":false"
    });
    out.push_str(",\"tradeId\":");
    push_int(&mut out, t.id);
    out.push_str("}]}");
    out
}

/// A ticker frame.
pub(crate) fn ticker(market: Market, t: &SimTicker, book: &SimBook, snapshot: bool) -> String {
    let change = t.last - t.prev_close;
    let percent = if t.prev_close.is_zero() {
        Decimal::ZERO
    } else {
        (change * Decimal::from(100) / t.prev_close).round_dp(2)
    };
    let best = |levels: &[Level]| levels.first().map_or(Decimal::ZERO, |l| l.price);
    let mut out = open("ticker", market, t.time_ms, snapshot, 448);
    out.push('{');
    for (i, (name, value)) in [
        ("open", t.open),
        ("high", t.high),
        ("low", t.low),
        ("close", t.last),
        ("prevClose", t.prev_close),
        ("priceChange", change),
        ("priceChangePercent", percent),
        ("volume", t.volume),
        ("quoteVolume", t.quote_volume),
        ("bestAskPrice", best(&book.asks)),
        ("bestBidPrice", best(&book.bids)),
    ]
    .into_iter()
    .enumerate()
    {
        if i > 0 {
            out.push(',');
        }
        decimal_member(&mut out, name, value);
    }
    out.push_str(",\"lastTradedAt\":");
    push_int(&mut out, t.last_trade_ms);
    out.push_str("}}");
    out
}

/// A book frame: every real level, no padding.
pub(crate) fn book(market: Market, b: &SimBook, snapshot: bool, now_ms: i64) -> String {
    let levels = b.asks.len() + b.bids.len();
    let mut out = open("orderbook", market, now_ms, snapshot, 160 + levels * 48);
    out.push_str("{\"timestamp\":");
    push_int(&mut out, b.time_us / 1000);
    for (name, side) in [(",\"asks\":[", &b.asks), ("],\"bids\":[", &b.bids)] {
        out.push_str(name);
        for (i, level) in side.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push('{');
            decimal_member(&mut out, "price", level.price);
            out.push(',');
            decimal_member(&mut out, "qty", level.size);
            out.push('}');
        }
    }
    out.push_str("]}}");
    out
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
