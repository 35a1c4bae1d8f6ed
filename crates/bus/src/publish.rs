//! Ingestion's single write: live fan-out and durable hand-off of the same events.

use async_trait::async_trait;

use crate::{BusError, Record};

/// One event as ingestion writes it: to a live channel and to the durable stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    /// The live channel (`tickmesh:live:{exchange}:{market}`).
    pub channel: String,
    /// The record for the durable stream; its payload is also the live message.
    pub record: Record,
}

/// Writes batches of events live and durably, in one round trip where the adapter can.
///
/// Contract (checked by [`crate::conformance::publisher`]): when `publish` returns `Ok`,
/// every event is in the durable stream, in order, and was published live; when it returns
/// an error, the caller keeps the batch and publishes it again (the stores deduplicate).
#[async_trait]
pub trait EventPublisher: Send + Sync + std::fmt::Debug {
    /// Publishes the batch.
    async fn publish(&self, batch: &[Outgoing]) -> Result<(), BusError>;
}
