//! Korbit frames: control frames carry `status`, data frames never do. Data frames are read
//! by the scanner-based fast path (`fast`) first; serde reads the rest and gives the errors.

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::value::RawValue;
use tickmesh_domain::{
    Decimal, Exchange, Level, Market, MarketEvent, OrderBook, Payload, Side, Ticker, Trade,
    TradeId, UtcMicros,
};

use super::event;
use crate::numbers::decimal_text;
use crate::scan::Unsupported;
use crate::{Control, FrameError};

#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(borrow)]
    status: Option<Cow<'a, str>>,
    #[serde(borrow)]
    code: Option<Cow<'a, str>>,
    #[serde(borrow)]
    message: Option<Cow<'a, str>>,
    #[serde(rename = "requestId")]
    request_id: Option<u64>,
    #[serde(rename = "type", borrow)]
    kind: Option<Cow<'a, str>>,
    #[serde(borrow)]
    symbol: Option<Cow<'a, str>>,
    timestamp: Option<i64>,
    #[serde(borrow)]
    data: Option<&'a RawValue>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TickerData<'a> {
    #[serde(borrow)]
    close: Cow<'a, str>,
    #[serde(borrow)]
    open: Option<Cow<'a, str>>,
    #[serde(borrow)]
    high: Option<Cow<'a, str>>,
    #[serde(borrow)]
    low: Option<Cow<'a, str>>,
    #[serde(borrow)]
    prev_close: Option<Cow<'a, str>>,
    #[serde(borrow)]
    volume: Option<Cow<'a, str>>,
    #[serde(borrow)]
    quote_volume: Option<Cow<'a, str>>,
    #[serde(borrow)]
    best_bid_price: Option<Cow<'a, str>>,
    #[serde(borrow)]
    best_ask_price: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TradeData<'a> {
    timestamp: i64,
    #[serde(borrow)]
    price: Cow<'a, str>,
    #[serde(borrow)]
    qty: Cow<'a, str>,
    is_buyer_taker: bool,
    trade_id: u64,
}

#[derive(Deserialize)]
struct BookData<'a> {
    timestamp: i64,
    #[serde(borrow)]
    bids: Vec<LevelData<'a>>,
    #[serde(borrow)]
    asks: Vec<LevelData<'a>>,
}

#[derive(Deserialize)]
struct LevelData<'a> {
    #[serde(borrow)]
    price: Cow<'a, str>,
    #[serde(borrow)]
    qty: Cow<'a, str>,
}

/// Parses one Korbit frame, appending its events to `out` (a trade frame may carry several).
pub fn parse_frame(
    payload: &[u8],
    received: UtcMicros,
    keep_raw: bool,
    out: &mut Vec<MarketEvent>,
) -> Result<Control, FrameError> {
    let start = out.len();
    let fast = std::str::from_utf8(payload)
        .map_err(|_| Unsupported)
        .and_then(|text| super::fast::data_frame(text, received, out));
    if fast.is_err() {
        // Control frames, and anything the fast path does not vouch for: serde decides.
        out.truncate(start);
        if let Some(control) = serde_frame(payload, received, out)? {
            return Ok(control);
        }
    }
    if keep_raw {
        let raw = String::from_utf8_lossy(payload).into_owned();
        for event in &mut out[start..] {
            event.raw = Some(raw.clone());
        }
    }
    Ok(Control::Data)
}

/// Parses a frame with serde: its control meaning, or `None` for a data frame whose events
/// were appended to `out`.
pub(super) fn serde_frame(
    payload: &[u8],
    received: UtcMicros,
    out: &mut Vec<MarketEvent>,
) -> Result<Option<Control>, FrameError> {
    let bad = |reason: String| FrameError::new(Exchange::Korbit, reason);
    let envelope: Envelope<'_> = serde_json::from_slice(payload).map_err(|e| bad(e.to_string()))?;
    if let Some(status) = &envelope.status {
        return control(&envelope, status).map(Some).map_err(bad);
    }
    data(&envelope, received, out).map_err(bad)?;
    Ok(None)
}

fn control(envelope: &Envelope<'_>, status: &str) -> Result<Control, String> {
    match status {
        "success" => Ok(envelope.request_id.map_or(Control::Ignored, Control::Ack)),
        "fail" | "error" => {
            let message = match (&envelope.code, &envelope.message) {
                (Some(code), Some(msg)) => format!("{code}: {msg}"),
                (Some(code), None) => code.to_string(),
                (None, Some(msg)) => msg.to_string(),
                (None, None) => status.to_owned(),
            };
            Ok(Control::Rejected {
                request_id: envelope.request_id,
                message: crate::Untrusted::escaped(&message),
            })
        }
        other => Err(format!("unknown status `{other}`")),
    }
}

fn data(
    envelope: &Envelope<'_>,
    received: UtcMicros,
    out: &mut Vec<MarketEvent>,
) -> Result<(), String> {
    let kind = envelope.kind.as_deref().ok_or("no `type` field")?;
    let symbol = envelope.symbol.as_deref().ok_or("no `symbol` field")?;
    let market =
        Market::from_exchange_symbol(Exchange::Korbit, symbol).map_err(|e| e.to_string())?;
    let body = envelope.data.ok_or("no `data` field")?.get();
    let event = |exchange_time, payload| event(market, exchange_time, received, payload);
    match kind {
        "ticker" => {
            let t: TickerData<'_> =
                serde_json::from_str(body).map_err(|e| format!("ticker data: {e}"))?;
            // The envelope time is when this state was sent; `lastTradedAt` may be hours old.
            let at = envelope.timestamp.ok_or("no `timestamp` field")?;
            let ticker = Ticker {
                last: dec(&t.close, "close")?,
                open: opt(t.open.as_deref(), "open")?,
                high: opt(t.high.as_deref(), "high")?,
                low: opt(t.low.as_deref(), "low")?,
                prev_close: opt(t.prev_close.as_deref(), "prevClose")?,
                volume_24h: opt(t.volume.as_deref(), "volume")?,
                quote_volume_24h: opt(t.quote_volume.as_deref(), "quoteVolume")?,
                // A stopped pair shows "0": no quote, not a free market.
                best_bid: opt(t.best_bid_price.as_deref(), "bestBidPrice")?
                    .filter(|p| !p.is_zero()),
                best_ask: opt(t.best_ask_price.as_deref(), "bestAskPrice")?
                    .filter(|p| !p.is_zero()),
            };
            out.push(event(UtcMicros::from_millis(at), Payload::Ticker(ticker)));
        }
        "trade" => {
            let trades: Vec<TradeData<'_>> =
                serde_json::from_str(body).map_err(|e| format!("trade data: {e}"))?;
            for t in trades {
                let trade = Trade {
                    trade_id: TradeId(t.trade_id),
                    price: dec(&t.price, "price")?,
                    size: dec(&t.qty, "qty")?,
                    side: if t.is_buyer_taker {
                        Side::Buy
                    } else {
                        Side::Sell
                    },
                };
                out.push(event(
                    UtcMicros::from_millis(t.timestamp),
                    Payload::Trade(trade),
                ));
            }
        }
        "orderbook" => {
            let b: BookData<'_> =
                serde_json::from_str(body).map_err(|e| format!("orderbook data: {e}"))?;
            let book = OrderBook {
                bids: levels(&b.bids)?,
                asks: levels(&b.asks)?,
            };
            out.push(event(
                UtcMicros::from_millis(b.timestamp),
                Payload::OrderBook(book),
            ));
        }
        other => return Err(format!("unknown type `{other}`")),
    }
    Ok(())
}

fn dec(text: &str, name: &str) -> Result<Decimal, String> {
    decimal_text(text).map_err(|e| format!("`{name}`: {e}"))
}

fn opt(text: Option<&str>, name: &str) -> Result<Option<Decimal>, String> {
    text.map(|t| dec(t, name)).transpose()
}

fn levels(rows: &[LevelData<'_>]) -> Result<Vec<Level>, String> {
    let mut levels = Vec::with_capacity(rows.len());
    for row in rows {
        let level = Level {
            price: dec(&row.price, "price")?,
            size: dec(&row.qty, "qty")?,
        };
        if !level.price.is_zero() && !level.size.is_zero() {
            levels.push(level);
        }
    }
    Ok(levels)
}
