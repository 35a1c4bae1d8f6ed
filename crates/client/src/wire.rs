//! Reading the server's answers: exchanges, markets, times and exact decimals out of the
//! protobuf types, which stop here.

use anyhow::Context as _;
use prost_types::Timestamp;
use tickmesh_domain::{Decimal, Exchange, UtcMicros, parse_decimal};
use tickmesh_proto::convert::{exchange_from_wire, exchange_to_wire};
use tickmesh_proto::market::v1 as market;

use crate::server::Failure;

/// An exchange named on the command line.
pub fn parse_exchange(text: &str) -> anyhow::Result<Exchange> {
    text.parse::<Exchange>().map_err(|_| {
        Failure::usage(format!(
            "unknown exchange {text:?}: expected upbit, bithumb or korbit"
        ))
    })
}

/// An optional exchange named on the command line, as its wire value (0 for any).
pub fn exchange_filter(text: Option<&str>) -> anyhow::Result<i32> {
    Ok(text
        .map(parse_exchange)
        .transpose()?
        .map_or(0, |e| exchange_to_wire(e) as i32))
}

/// An exchange's wire value as its name (`upbit`), `?` for one this client does not know.
pub fn exchange_text(value: i32) -> String {
    match exchange_from_wire("exchange", value) {
        Ok(Some(e)) => e.to_string(),
        _ => "?".to_owned(),
    }
}

/// A market as `BTC/KRW`.
pub fn market_text(market: Option<&market::Market>) -> String {
    market.map_or_else(|| "?".to_owned(), |m| format!("{}/{}", m.base, m.quote))
}

/// A timestamp of an answer; `None` when unset.
pub fn time(t: Option<&Timestamp>) -> Option<UtcMicros> {
    t.map(|t| UtcMicros::from_seconds_and_nanos(t.seconds, t.nanos))
}

/// A decimal of an answer; `None` when empty (the exchange did not send it).
pub fn decimal(field: &str, text: &str) -> anyhow::Result<Option<Decimal>> {
    if text.is_empty() {
        return Ok(None);
    }
    parse_decimal(text)
        .map(Some)
        .with_context(|| format!("the server sent {field} {text:?}, which is not a decimal"))
}

/// A decimal of an answer that must be there.
pub fn required_decimal(field: &str, text: &str) -> anyhow::Result<Decimal> {
    decimal(field, text)?.with_context(|| format!("the server sent no {field}"))
}
