//! Ingestion's single write: live fan-out and durable hand-off of the same events.

use std::sync::Arc;

use async_trait::async_trait;

use crate::lease::{Fence, PublishedMark};
use crate::{BusError, Record};

/// One event as ingestion writes it: to a live channel and to the durable stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    /// The live channel (`tickmesh:live:{exchange}:{market}`).
    pub channel: String,
    /// The record for the durable stream; its payload is also the live message.
    pub record: Record,
    /// Write only while this lease is held (replicated ingestion); `None` writes always.
    pub fence: Option<Arc<Fence>>,
    /// Where this event leaves its market (the record's key) for a successor, kept with the
    /// fence's unit when the event is written.
    pub mark: Option<PublishedMark>,
}

impl Outgoing {
    /// An unfenced event.
    pub fn new(channel: String, record: Record) -> Outgoing {
        Outgoing {
            channel,
            record,
            fence: None,
            mark: None,
        }
    }
}

/// What a publish did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Published {
    /// Events not written because their fence no longer names their unit's holder.
    pub fenced_off: usize,
}

/// Writes batches of events live and durably, in one round trip where the adapter can.
///
/// Contract (checked by [`crate::conformance::publisher`]): when `publish` returns `Ok`,
/// every event is in the durable stream, in order, and was published live, except the
/// fenced events whose lease had another holder (or none) at the moment of the write, of which
/// nothing is written; when it returns an error, the caller keeps the batch and publishes it
/// again (the stores deduplicate).
#[async_trait]
pub trait EventPublisher: Send + Sync + std::fmt::Debug {
    /// Publishes the batch.
    async fn publish(&self, batch: &[Outgoing]) -> Result<Published, BusError>;
}
