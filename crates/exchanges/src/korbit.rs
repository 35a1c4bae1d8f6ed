//! Korbit, now Digital X: `wss://ws-api.digitalx.miraeasset.com/v2/public` (the old
//! `ws-api.korbit.co.kr` host serves the same protocol), text frames, incremental
//! subscribe/unsubscribe with acknowledgements, decimal strings, epoch milliseconds; and the
//! `/v2` REST API.

mod fast;
pub mod parse;
pub mod requests;
pub mod rest;

#[cfg(test)]
mod tests;

pub use parse::parse_frame;
pub use requests::{Method, subscription_request};

use tickmesh_domain::{Exchange, Market, MarketEvent, Payload, UtcMicros};

/// The public WebSocket on the Digital X host (the default).
pub const WS_URL: &str = "wss://ws-api.digitalx.miraeasset.com/v2/public";
/// The same WebSocket on the former Korbit host.
pub const WS_URL_KORBIT_HOST: &str = "wss://ws-api.korbit.co.kr/v2/public";
/// The REST base URL on the Digital X host.
pub const REST_URL: &str = "https://api.digitalx.miraeasset.com";
/// The WebSocket path (simulators serve it too).
pub const WS_PATH: &str = "/v2/public";

/// A Korbit event of `market`.
fn event(
    market: Market,
    exchange_time: UtcMicros,
    received: UtcMicros,
    payload: Payload,
) -> MarketEvent {
    MarketEvent {
        exchange: Exchange::Korbit,
        market,
        exchange_time,
        received_time: received,
        payload,
        raw: None,
    }
}
