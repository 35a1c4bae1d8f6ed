//! Korbit REST: `GET /v2/currencyPairs` and `GET /v2/trades` (the latest trades only; there is
//! no cursor, so backfill can reach back at most [`MAX_TRADES_PER_PAGE`] trades).

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::value::RawValue;
use tickmesh_domain::{Exchange, Market, Side, Trade, TradeId, UtcMicros};

use crate::RestBodyError;
use crate::numbers::decimal_text;

/// Path of the market list.
pub const MARKETS_PATH: &str = "/v2/currencyPairs";

/// The most trades one `/v2/trades` call returns.
pub const MAX_TRADES_PER_PAGE: u32 = 500;

/// Path and query of `market`'s latest trades.
pub fn trades_path(market: Market, limit: u32) -> String {
    format!(
        "/v2/trades?symbol={}&limit={}",
        market.to_exchange_symbol(Exchange::Korbit),
        limit.clamp(1, MAX_TRADES_PER_PAGE)
    )
}

#[derive(Deserialize)]
struct Envelope<'a> {
    success: bool,
    #[serde(borrow)]
    data: Option<&'a RawValue>,
    #[serde(borrow)]
    error: Option<ErrorData<'a>>,
}

#[derive(Deserialize)]
struct ErrorData<'a> {
    code: Option<&'a RawValue>,
    #[serde(borrow)]
    message: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct PairRow<'a> {
    #[serde(borrow)]
    symbol: Cow<'a, str>,
    #[serde(borrow)]
    status: Cow<'a, str>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TradeRow<'a> {
    timestamp: i64,
    #[serde(borrow)]
    price: Cow<'a, str>,
    #[serde(borrow)]
    qty: Cow<'a, str>,
    is_buyer_taker: bool,
    trade_id: u64,
}

fn body_error(reason: String) -> RestBodyError {
    RestBodyError::Body {
        exchange: Exchange::Korbit,
        reason,
    }
}

fn data(body: &[u8]) -> Result<&str, RestBodyError> {
    let envelope: Envelope<'_> =
        serde_json::from_slice(body).map_err(|e| body_error(e.to_string()))?;
    if !envelope.success {
        let (name, message) = envelope.error.map_or_else(
            || ("UNKNOWN".to_owned(), String::new()),
            |e| {
                (
                    e.code.map_or_else(
                        || "UNKNOWN".to_owned(),
                        |c| c.get().trim_matches('"').to_owned(),
                    ),
                    e.message.map(Cow::into_owned).unwrap_or_default(),
                )
            },
        );
        return Err(RestBodyError::Exchange {
            exchange: Exchange::Korbit,
            name,
            message,
        });
    }
    envelope
        .data
        .map(RawValue::get)
        .ok_or_else(|| body_error("no `data` field".to_owned()))
}

/// Parses the currency pairs: the `launched` markets, and symbols tickmesh cannot represent.
/// Stopped pairs are not tradable and are left out.
pub fn parse_markets(body: &[u8]) -> Result<(Vec<Market>, Vec<String>), RestBodyError> {
    let rows: Vec<PairRow<'_>> =
        serde_json::from_str(data(body)?).map_err(|e| body_error(e.to_string()))?;
    let mut markets = Vec::new();
    let mut skipped = Vec::new();
    for row in rows.into_iter().filter(|r| r.status == "launched") {
        match Market::from_exchange_symbol(Exchange::Korbit, &row.symbol) {
            Ok(m) => markets.push(m),
            Err(_) => skipped.push(row.symbol.into_owned()),
        }
    }
    Ok((markets, skipped))
}

/// Parses `/v2/trades`, newest first as served.
pub fn parse_trades(body: &[u8]) -> Result<Vec<(UtcMicros, Trade)>, RestBodyError> {
    let rows: Vec<TradeRow<'_>> =
        serde_json::from_str(data(body)?).map_err(|e| body_error(e.to_string()))?;
    rows.into_iter()
        .map(|r| {
            let trade = Trade {
                trade_id: TradeId(r.trade_id),
                price: decimal_text(&r.price).map_err(body_error)?,
                size: decimal_text(&r.qty).map_err(body_error)?,
                side: if r.is_buyer_taker {
                    Side::Buy
                } else {
                    Side::Sell
                },
            };
            Ok((UtcMicros::from_millis(r.timestamp), trade))
        })
        .collect()
}
