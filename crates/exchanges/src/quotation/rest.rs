//! Quotation REST bodies: `GET /v1/market/all` and `GET /v1/trades/ticks`.

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::value::RawValue;
use tickmesh_domain::{Exchange, Market, Side, Trade, TradeId, UtcMicros};

use super::frames::ErrorBody;
use crate::RestBodyError;
use crate::numbers::{decimal, integer};

/// The error envelope, which Bithumb sends even with HTTP 200.
#[derive(Deserialize)]
struct ErrorEnvelope<'a> {
    #[serde(borrow)]
    error: ErrorBody<'a>,
}

#[derive(Deserialize)]
struct MarketRow<'a> {
    #[serde(borrow)]
    market: Cow<'a, str>,
}

#[derive(Deserialize)]
struct TickRow<'a> {
    #[serde(borrow)]
    market: Option<Cow<'a, str>>,
    #[serde(borrow)]
    timestamp: &'a RawValue,
    #[serde(borrow)]
    trade_price: &'a RawValue,
    #[serde(borrow)]
    trade_volume: &'a RawValue,
    #[serde(borrow)]
    ask_bid: Cow<'a, str>,
    #[serde(borrow)]
    sequential_id: &'a RawValue,
}

/// Rows of a successful body (an array), or the error of an error envelope (an object).
fn rows<'a, T: Deserialize<'a>>(
    exchange: Exchange,
    body: &'a [u8],
) -> Result<Vec<T>, RestBodyError> {
    let bad = |e: serde_json::Error| RestBodyError::Body {
        exchange,
        reason: e.to_string(),
    };
    if body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{') {
        let envelope: ErrorEnvelope<'a> = serde_json::from_slice(body).map_err(bad)?;
        return Err(RestBodyError::Exchange {
            exchange,
            name: envelope.error.name(),
            message: envelope.error.message(),
        });
    }
    serde_json::from_slice(body).map_err(bad)
}

/// Parses a market list, returning the markets and the codes that are not markets tickmesh
/// can represent (reported, never silently dropped).
pub fn parse_markets(
    exchange: Exchange,
    body: &[u8],
) -> Result<(Vec<Market>, Vec<String>), RestBodyError> {
    let mut markets = Vec::new();
    let mut skipped = Vec::new();
    for row in rows::<MarketRow<'_>>(exchange, body)? {
        match Market::from_exchange_symbol(exchange, &row.market) {
            Ok(m) => markets.push(m),
            Err(_) => skipped.push(row.market.into_owned()),
        }
    }
    Ok((markets, skipped))
}

/// Parses recent trades, newest first as served; every row must belong to `market`.
pub fn parse_trades(
    exchange: Exchange,
    market: Market,
    body: &[u8],
) -> Result<Vec<(UtcMicros, Trade)>, RestBodyError> {
    let bad = |reason: String| RestBodyError::Body { exchange, reason };
    let mut trades = Vec::new();
    for row in rows::<TickRow<'_>>(exchange, body)? {
        if let Some(code) = &row.market {
            let m = Market::from_exchange_symbol(exchange, code).map_err(|e| bad(e.to_string()))?;
            if m != market {
                return Err(bad(format!("asked for {market}, got a trade of {m}")));
            }
        }
        let side = match row.ask_bid.as_ref() {
            "BID" => Side::Buy,
            "ASK" => Side::Sell,
            other => {
                return Err(bad(format!(
                    "`ask_bid`: expected ASK or BID, got `{other}`"
                )));
            }
        };
        let trade = Trade {
            trade_id: TradeId(integer(row.sequential_id).map_err(bad)?),
            price: decimal(row.trade_price).map_err(bad)?,
            size: decimal(row.trade_volume).map_err(bad)?,
            side,
        };
        let at: i64 = integer(row.timestamp).map_err(bad)?;
        trades.push((UtcMicros::from_epoch_auto(at), trade));
    }
    Ok(trades)
}
