//! What a Upbit client sends on the socket.

use std::collections::BTreeSet;

use tickmesh_domain::{Exchange, Market};

use crate::quotation::{self, Format};

/// The text keepalive; the server answers `{"status":"UP"}` (and repeats it every 10 s).
pub const KEEPALIVE: &str = "PING";

/// The request making `markets` the whole subscription set (a new request replaces the old).
pub fn subscribe_request(ticket: &str, markets: &BTreeSet<Market>, format: Format) -> String {
    quotation::subscribe_request(Exchange::Upbit, ticket, markets, format)
}
