//! What a quotation client sends: one request array that replaces the whole subscription set.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use tickmesh_domain::{Exchange, Market};

/// The frame format asked for; the parser reads both.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    /// Full key names (`trade_price`).
    Default,
    /// Abbreviated keys (`tp`): about half the bytes to read.
    #[default]
    Simple,
}

impl Format {
    fn as_str(self) -> &'static str {
        match self {
            Format::Default => "DEFAULT",
            Format::Simple => "SIMPLE",
        }
    }
}

/// The three data types requested for every market.
const TYPES: [&str; 3] = ["ticker", "trade", "orderbook"];

/// Builds the request that makes `markets` the connection's entire subscription set:
/// `[{"ticket":..},{"type":"ticker","codes":[..]},{"type":"trade",..},{"type":"orderbook",..},{"format":..}]`.
///
/// Both exchanges replace the set with every request, so this always lists every market.
pub fn subscribe_request(
    exchange: Exchange,
    ticket: &str,
    markets: &BTreeSet<Market>,
    format: Format,
) -> String {
    let mut codes = String::new();
    for (i, market) in markets.iter().enumerate() {
        if i > 0 {
            codes.push(',');
        }
        // Market codes are ASCII letters and digits, so they need no JSON escaping.
        let _ = write!(codes, "\"{}\"", market.to_exchange_symbol(exchange));
    }
    let mut request = String::with_capacity(64 + codes.len() * TYPES.len());
    let _ = write!(request, "[{{\"ticket\":{}}}", json_string(ticket));
    for kind in TYPES {
        let _ = write!(request, ",{{\"type\":\"{kind}\",\"codes\":[{codes}]}}");
    }
    let _ = write!(request, ",{{\"format\":\"{}\"}}]", format.as_str());
    request
}

fn json_string(text: &str) -> String {
    serde_json::Value::String(text.to_owned()).to_string()
}
