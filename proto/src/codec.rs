//! Market events as bytes: the payload format of every bus hop (Redis pub/sub and stream,
//! Kafka), so services exchange protobuf `tickmesh.market.v1.MarketEvent` without touching
//! generated types.

use prost::Message as _;
use tickmesh_domain::MarketEvent;

use crate::convert::{ConvertError, event_from_wire};
use crate::market::v1 as wire;

/// Bytes that are not a valid event.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    /// Not a protobuf `MarketEvent`.
    #[error("not a protobuf market event")]
    Protobuf(#[from] prost::DecodeError),
    /// A protobuf `MarketEvent` with an invalid field.
    #[error("invalid market event")]
    Invalid(#[from] ConvertError),
}

/// Encodes a feed gap as protobuf `tickmesh.stream.v1.Gap` bytes (the payload of
/// [`crate::routing::gap_channel`]).
pub fn encode_gap(gap: &tickmesh_domain::FeedGap) -> Vec<u8> {
    crate::stream::v1::Gap {
        exchange: crate::convert::exchange_to_wire(gap.exchange) as i32,
        market: Some(crate::convert::market_to_wire(gap.market)),
        from_time: Some(crate::convert::time_to_wire(gap.from)),
        to_time: Some(crate::convert::time_to_wire(gap.to)),
        backfilled_trades: gap.backfilled_trades,
        missed_trades_unknown: !gap.complete,
        cause: crate::stream::v1::GapCause::FeedOutage as i32,
        ..Default::default()
    }
    .encode_to_vec()
}

/// Decodes [`encode_gap`]'s bytes, naming the first invalid field.
pub fn decode_gap(bytes: &[u8]) -> Result<tickmesh_domain::FeedGap, DecodeError> {
    use crate::convert::{market_from_wire, required_exchange, time_from_wire};
    let wire = crate::stream::v1::Gap::decode(bytes)?;
    Ok(tickmesh_domain::FeedGap {
        exchange: required_exchange("exchange", wire.exchange)?,
        market: market_from_wire("market", wire.market.as_ref())?,
        from: time_from_wire("from_time", wire.from_time.as_ref())?,
        to: time_from_wire("to_time", wire.to_time.as_ref())?,
        backfilled_trades: wire.backfilled_trades,
        complete: !wire.missed_trades_unknown,
    })
}

/// Encodes an event as protobuf bytes (written directly, see [`crate::encode`]).
pub fn encode_event(event: &MarketEvent) -> Vec<u8> {
    crate::encode::encode_event(event)
}

pub use crate::shared::decode_shared;

/// Decodes protobuf bytes into an event, naming the first invalid field. A caller holding the
/// bytes as [`bytes::Bytes`] decodes them cheaper with [`decode_shared`].
pub fn decode_event(bytes: &[u8]) -> Result<MarketEvent, DecodeError> {
    Ok(event_from_wire(&wire::MarketEvent::decode(bytes)?)?)
}
