//! The [`WireProtocol`](crate::WireProtocol) of each exchange, over the pure parsers and
//! request builders of `tickmesh-exchanges`, and each exchange's default endpoints.

mod korbit;
mod quotation;

use tickmesh_domain::Exchange;

pub use korbit::KorbitProtocol;
pub use quotation::QuotationProtocol;

use crate::protocol::WireProtocol;

/// Where an exchange is reached: its WebSocket URL and REST base URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoints {
    /// WebSocket URL.
    pub ws_url: String,
    /// REST base URL, without a trailing slash.
    pub rest_url: String,
}

impl Endpoints {
    /// The production endpoints (Korbit on the Digital X host).
    pub fn production(exchange: Exchange) -> Self {
        use tickmesh_exchanges::{bithumb, korbit, upbit};
        let (ws, rest) = match exchange {
            Exchange::Upbit => (upbit::WS_URL, upbit::REST_URL),
            Exchange::Bithumb => (bithumb::WS_URL, bithumb::REST_URL),
            Exchange::Korbit => (korbit::WS_URL, korbit::REST_URL),
        };
        Self {
            ws_url: ws.to_owned(),
            rest_url: rest.to_owned(),
        }
    }
}

/// The wire protocol of `exchange`.
pub fn protocol_for(exchange: Exchange) -> Box<dyn WireProtocol> {
    match exchange {
        Exchange::Upbit | Exchange::Bithumb => Box::new(QuotationProtocol::new(exchange)),
        Exchange::Korbit => Box::new(KorbitProtocol::new()),
    }
}
