//! Upbit: `wss://api.upbit.com/websocket/v1` (binary frames of UTF-8 JSON, DEFAULT or SIMPLE
//! keys) and the `/v1` REST API. Timestamps are epoch milliseconds.

pub mod parse;
pub mod requests;
pub mod rest;

#[cfg(test)]
mod tests;

pub use parse::parse_frame;
pub use requests::subscribe_request;

/// The public quotation WebSocket.
pub const WS_URL: &str = "wss://api.upbit.com/websocket/v1";
/// The REST base URL.
pub const REST_URL: &str = "https://api.upbit.com";
/// The WebSocket path (simulators serve it too).
pub const WS_PATH: &str = "/websocket/v1";
