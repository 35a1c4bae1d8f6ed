//! Bithumb's current ("v2") API: `wss://ws-api.bithumb.com/websocket/v1`, Upbit-compatible
//! (binary frames, the same keys), and the `/v1` REST API. Order book timestamps are epoch
//! microseconds on the wire (milliseconds in older docs), ticker and trade times milliseconds;
//! ids and book timestamps may arrive as strings. The quotation parser handles all of it.

pub mod parse;
pub mod requests;
pub mod rest;

#[cfg(test)]
mod tests;

pub use parse::parse_frame;
pub use requests::subscribe_request;

/// The public WebSocket.
pub const WS_URL: &str = "wss://ws-api.bithumb.com/websocket/v1";
/// The REST base URL.
pub const REST_URL: &str = "https://api.bithumb.com";
/// The WebSocket path (simulators serve it too).
pub const WS_PATH: &str = "/websocket/v1";
