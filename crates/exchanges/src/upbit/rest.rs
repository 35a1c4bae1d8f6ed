//! Upbit REST: the market list and recent trades (for backfill after a reconnect).

use tickmesh_domain::{Exchange, Market, Trade, UtcMicros};

use crate::{RestBodyError, quotation};

/// Path and query of the market list.
pub const MARKETS_PATH: &str = "/v1/market/all?is_details=false";

/// The most trades one `/v1/trades/ticks` call returns.
pub const MAX_TRADES_PER_PAGE: u32 = 500;

/// Path and query of a page of `market`'s trades, newest first, older than the trade with
/// sequential id `cursor` when given.
pub fn trades_path(market: Market, count: u32, cursor: Option<u64>) -> String {
    let count = count.clamp(1, MAX_TRADES_PER_PAGE);
    let code = market.to_exchange_symbol(Exchange::Upbit);
    match cursor {
        Some(c) => format!("/v1/trades/ticks?market={code}&count={count}&cursor={c}"),
        None => format!("/v1/trades/ticks?market={code}&count={count}"),
    }
}

/// Parses the market list body: the markets, and codes tickmesh cannot represent.
pub fn parse_markets(body: &[u8]) -> Result<(Vec<Market>, Vec<String>), RestBodyError> {
    quotation::parse_markets(Exchange::Upbit, body)
}

/// Parses a `/v1/trades/ticks` body, newest first.
pub fn parse_trades(market: Market, body: &[u8]) -> Result<Vec<(UtcMicros, Trade)>, RestBodyError> {
    quotation::parse_trades(Exchange::Upbit, market, body)
}
