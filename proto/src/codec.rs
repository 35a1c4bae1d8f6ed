//! Market events as bytes: the payload format of every bus hop (Redis pub/sub and stream,
//! Kafka), so services exchange protobuf `tickmesh.market.v1.MarketEvent` without touching
//! generated types.

use prost::Message as _;
use tickmesh_domain::MarketEvent;

use crate::convert::{ConvertError, event_from_wire, event_to_wire};
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

/// Encodes an event as protobuf bytes.
pub fn encode_event(event: &MarketEvent) -> Vec<u8> {
    event_to_wire(event).encode_to_vec()
}

/// Decodes protobuf bytes into an event, naming the first invalid field.
pub fn decode_event(bytes: &[u8]) -> Result<MarketEvent, DecodeError> {
    Ok(event_from_wire(&wire::MarketEvent::decode(bytes)?)?)
}
