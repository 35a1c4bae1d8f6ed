//! Quotation frames into domain events.

use tickmesh_domain::{
    Exchange, Level, Market, MarketEvent, OrderBook, Payload, Side, Ticker, Trade, TradeId,
    UtcMicros,
};

use super::frames::Frame;
use crate::numbers::Raw;
use crate::{Control, FrameError};

/// Parses one frame's payload (binary and text frames carry the same UTF-8 JSON), appending
/// its events to `out`. A JSON array (the `*_LIST` formats) may hold several events.
///
/// `keep_raw` stores the frame text in each event, for audits and replays.
pub fn parse_frame(
    exchange: Exchange,
    payload: &[u8],
    received: UtcMicros,
    keep_raw: bool,
    out: &mut Vec<MarketEvent>,
) -> Result<Control, FrameError> {
    let bad = |reason: String| FrameError::new(exchange, reason);
    let first = payload
        .iter()
        .find(|b| !b.is_ascii_whitespace())
        .ok_or_else(|| bad("empty frame".to_owned()))?;
    let start = out.len();
    let control = if *first == b'[' {
        let frames: Vec<Frame<'_>> =
            serde_json::from_slice(payload).map_err(|e| bad(e.to_string()))?;
        for frame in &frames {
            route(exchange, frame, received, out).map_err(bad)?;
        }
        Control::Data
    } else {
        let scanned = std::str::from_utf8(payload).ok().and_then(Frame::scan);
        let frame = match scanned {
            Some(frame) => frame,
            None => serde_json::from_slice(payload).map_err(|e| bad(e.to_string()))?,
        };
        route(exchange, &frame, received, out).map_err(bad)?
    };
    if keep_raw && out.len() > start {
        let raw = String::from_utf8_lossy(payload).into_owned();
        for event in &mut out[start..] {
            event.raw = Some(raw.clone());
        }
    }
    Ok(control)
}

fn route(
    exchange: Exchange,
    frame: &Frame<'_>,
    received: UtcMicros,
    out: &mut Vec<MarketEvent>,
) -> Result<Control, String> {
    if let Some(error) = &frame.error {
        return Ok(Control::Fatal(crate::Untrusted::escaped(&format!(
            "{}: {}",
            error.name(),
            error.message()
        ))));
    }
    if let Some(status) = &frame.status {
        return if status == "UP" {
            Ok(Control::Keepalive)
        } else {
            Err(format!("unknown status `{status}`"))
        };
    }
    if frame.method.is_some() {
        return Ok(Control::Ignored);
    }
    let code = frame.code.as_deref().ok_or("no `code` field")?;
    let market = Market::from_exchange_symbol(exchange, code).map_err(|e| e.to_string())?;
    let (exchange_time, payload) = match kind(frame)? {
        "trade" => trade(frame, received)?,
        "ticker" => ticker(frame, received)?,
        "orderbook" => order_book(frame, received)?,
        other => return Err(format!("unknown type `{other}`")),
    };
    out.push(MarketEvent {
        exchange,
        market,
        exchange_time,
        received_time: received,
        payload,
        raw: None,
    });
    Ok(Control::Data)
}

/// The frame's `type`; frames from before the `ty` key (2018 SIMPLE samples keyed only by
/// `mk`) are recognised by the fields only one kind carries.
fn kind<'f>(frame: &'f Frame<'_>) -> Result<&'f str, String> {
    if let Some(kind) = frame.kind.as_deref() {
        return Ok(kind);
    }
    if frame.sequential_id.is_some() {
        Ok("trade")
    } else if frame.orderbook_units.is_some() {
        Ok("orderbook")
    } else if frame.trade_price.is_some() {
        Ok("ticker")
    } else {
        Err("no `type` field".to_owned())
    }
}

fn required<'a>(field: Option<Raw<'a>>, name: &str) -> Result<Raw<'a>, String> {
    field.ok_or_else(|| format!("no `{name}` field"))
}

fn dec(field: Option<Raw<'_>>, name: &str) -> Result<tickmesh_domain::Decimal, String> {
    required(field, name)?
        .decimal()
        .map_err(|e| format!("`{name}`: {e}"))
}

fn opt_dec(field: Option<Raw<'_>>, name: &str) -> Result<Option<tickmesh_domain::Decimal>, String> {
    field
        .map(|raw| raw.decimal().map_err(|e| format!("`{name}`: {e}")))
        .transpose()
}

/// An epoch time in milliseconds or microseconds (by magnitude). A frame without one (only
/// ever seen in hand-trimmed captures) is still data: the receipt time stands in.
fn time(field: Option<Raw<'_>>, name: &str, received: UtcMicros) -> Result<UtcMicros, String> {
    let Some(raw) = field else {
        return Ok(received);
    };
    let value: i64 = raw.integer().map_err(|e| format!("`{name}`: {e}"))?;
    Ok(UtcMicros::from_epoch_auto(value))
}

fn trade(frame: &Frame<'_>, received: UtcMicros) -> Result<(UtcMicros, Payload), String> {
    let side = match frame.ask_bid.as_deref() {
        Some("BID") => Side::Buy,
        Some("ASK") => Side::Sell,
        Some(other) => return Err(format!("`ask_bid`: expected ASK or BID, got `{other}`")),
        None => return Err("no `ask_bid` field".to_owned()),
    };
    let trade_id = required(frame.sequential_id, "sequential_id")?
        .integer::<u64>()
        .map_err(|e| format!("`sequential_id`: {e}"))?;
    let trade = Trade {
        trade_id: TradeId(trade_id),
        price: dec(frame.trade_price, "trade_price")?,
        size: dec(frame.trade_volume, "trade_volume")?,
        side,
    };
    // The trade's own time; `timestamp` is when the message was sent.
    let at = time(
        frame.trade_timestamp.or(frame.timestamp),
        "trade_timestamp",
        received,
    )?;
    Ok((at, Payload::Trade(trade)))
}

fn ticker(frame: &Frame<'_>, received: UtcMicros) -> Result<(UtcMicros, Payload), String> {
    let ticker = Ticker {
        last: dec(frame.trade_price, "trade_price")?,
        open: opt_dec(frame.opening_price, "opening_price")?,
        high: opt_dec(frame.high_price, "high_price")?,
        low: opt_dec(frame.low_price, "low_price")?,
        prev_close: opt_dec(frame.prev_closing_price, "prev_closing_price")?,
        volume_24h: opt_dec(frame.acc_trade_volume_24h, "acc_trade_volume_24h")?,
        quote_volume_24h: opt_dec(frame.acc_trade_price_24h, "acc_trade_price_24h")?,
        best_bid: None,
        best_ask: None,
    };
    let at = time(
        frame.timestamp.or(frame.trade_timestamp),
        "timestamp",
        received,
    )?;
    Ok((at, Payload::Ticker(ticker)))
}

fn order_book(frame: &Frame<'_>, received: UtcMicros) -> Result<(UtcMicros, Payload), String> {
    let units = frame
        .orderbook_units
        .as_deref()
        .ok_or("no `orderbook_units` field")?;
    let mut book = OrderBook {
        bids: Vec::with_capacity(units.len()),
        asks: Vec::with_capacity(units.len()),
    };
    for unit in units {
        if let Some(level) = level(unit.ask_price, unit.ask_size, "ask")? {
            book.asks.push(level);
        }
        if let Some(level) = level(unit.bid_price, unit.bid_size, "bid")? {
            book.bids.push(level);
        }
    }
    let at = time(frame.timestamp, "timestamp", received)?;
    Ok((at, Payload::OrderBook(book)))
}

/// A level, or `None` for padding: thin books are padded with price 0 or size 0 (and
/// Bithumb rounds tiny sizes to 0 at live prices).
fn level(
    price: Option<Raw<'_>>,
    size: Option<Raw<'_>>,
    side: &str,
) -> Result<Option<Level>, String> {
    let (Some(price), Some(size)) = (price, size) else {
        return Ok(None);
    };
    let price = price
        .decimal()
        .map_err(|e| format!("`{side}_price`: {e}"))?;
    let size = size.decimal().map_err(|e| format!("`{side}_size`: {e}"))?;
    Ok((!price.is_zero() && !size.is_zero()).then_some(Level { price, size }))
}
