//! What a Korbit client sends: incremental `subscribe` and `unsubscribe` requests, each with a
//! request id so that the server acknowledges it.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use tickmesh_domain::{Exchange, Market};

/// Subscribe or unsubscribe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// Add the symbols to the connection's set.
    Subscribe,
    /// Remove them.
    Unsubscribe,
}

impl Method {
    fn as_str(self) -> &'static str {
        match self {
            Method::Subscribe => "subscribe",
            Method::Unsubscribe => "unsubscribe",
        }
    }
}

/// The data types requested for every market.
const TYPES: [&str; 3] = ["ticker", "trade", "orderbook"];

/// Builds one request array changing `markets` for every data type, one object per type with
/// request ids `first_request_id`, `+1`, `+2`; returns the text and the ids to expect acks for.
pub fn subscription_request(
    method: Method,
    first_request_id: u64,
    markets: &BTreeSet<Market>,
) -> (String, Vec<u64>) {
    let mut symbols = String::new();
    for (i, market) in markets.iter().enumerate() {
        if i > 0 {
            symbols.push(',');
        }
        // Symbols are lower-case ASCII letters, digits and `_`: no JSON escaping needed.
        let _ = write!(
            symbols,
            "\"{}\"",
            market.to_exchange_symbol(Exchange::Korbit)
        );
    }
    let mut request = String::from("[");
    let mut ids = Vec::with_capacity(TYPES.len());
    for (i, kind) in TYPES.iter().enumerate() {
        let id = first_request_id + i as u64;
        ids.push(id);
        if i > 0 {
            request.push(',');
        }
        let _ = write!(
            request,
            "{{\"requestId\":{id},\"method\":\"{}\",\"type\":\"{kind}\",\"symbols\":[{symbols}]}}",
            method.as_str()
        );
    }
    request.push(']');
    (request, ids)
}
