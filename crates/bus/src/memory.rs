//! The in-process adapter: the bus of embedded mode (`tickmesh up`) and of unit tests. It
//! keeps the same contracts as Redis and Kafka (the conformance suites run against it), with
//! the same bounds: each topic retains at most a configured number of records, dropping the
//! oldest like Redis' `MAXLEN`, and each live subscriber has a bounded inbox.

mod lease;
mod live;
mod log;

use std::sync::Arc;

use async_trait::async_trait;

pub use self::lease::MemoryLeases;
pub use self::live::MemoryLive;
pub use self::log::MemoryLog;
use crate::{BusError, EventPublisher, LiveMessage, Outgoing, Published, Record};

/// Live channels, durable topics and the publisher over both, in one process.
#[derive(Debug, Clone)]
pub struct MemoryBus {
    /// The live side.
    pub live: Arc<MemoryLive>,
    /// The durable side.
    pub log: Arc<MemoryLog>,
    /// The lease table fenced publishes are checked against.
    pub leases: Arc<MemoryLeases>,
    stream: String,
}

impl MemoryBus {
    /// A bus whose publisher appends to `stream`, each topic retaining at most `retain`
    /// records, and `stream` keeping its newest [`MemoryBus::DEFAULT_REPLAY`] records for
    /// stream clients to replay after every group acknowledged them.
    pub fn new(stream: impl Into<String>, retain: usize) -> MemoryBus {
        let stream = stream.into();
        let log = MemoryLog::new(retain);
        log.keep_for_replay(&stream, Self::DEFAULT_REPLAY);
        MemoryBus {
            live: Arc::new(MemoryLive::default()),
            log: Arc::new(log),
            leases: Arc::new(MemoryLeases::default()),
            stream,
        }
    }

    /// Records of the stream kept for replay unless configured otherwise: ten seconds of the
    /// whole feed at 10,000 events/s, about 50 MiB at the bench's mix of events (most of
    /// `tickmesh up`'s memory; docs/benchmarks.md); older history comes from the database.
    pub const DEFAULT_REPLAY: usize = 100_000;

    /// The stream the publisher appends to.
    pub fn stream(&self) -> &str {
        &self.stream
    }
}

#[async_trait]
impl EventPublisher for MemoryBus {
    async fn publish(&self, batch: &[Outgoing]) -> Result<Published, BusError> {
        // The lease table stays locked from the fence check to the end of the write, as a
        // Redis script runs: no grant can come between them.
        let admitted = self.leases.admit(batch);
        let records: Vec<Record> = admitted
            .allowed
            .iter()
            .map(|&i| with_owner(&batch[i]))
            .collect();
        let positions = self.log.append_now(&self.stream, &records)?;
        // Each live message carries the position its record was given, as the Redis script
        // frames it.
        let messages: Vec<LiveMessage> = admitted
            .allowed
            .iter()
            .zip(positions)
            .map(|(&i, position)| LiveMessage {
                channel: batch[i].channel.clone(),
                payload: crate::position::frame(position, &batch[i].record.payload),
            })
            .collect();
        self.live.publish_now(&messages);
        Ok(Published {
            fenced_off: batch.len() - admitted.allowed.len(),
        })
    }
}

/// The record as the stream keeps it: a fenced one names its publisher.
pub(crate) fn with_owner(out: &Outgoing) -> Record {
    match &out.fence {
        None => out.record.clone(),
        Some(fence) => out
            .record
            .clone()
            .with_header(crate::OWNER_HEADER, fence.owner_tag.clone()),
    }
}
