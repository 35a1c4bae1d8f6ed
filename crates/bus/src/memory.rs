//! The in-process adapter: the bus of embedded mode (`tickmesh up`) and of unit tests. It
//! keeps the same contracts as Redis and Kafka (the conformance suites run against it), with
//! the same bounds: each topic retains at most a configured number of records, dropping the
//! oldest like Redis' `MAXLEN`, and each live subscriber has a bounded inbox.

mod live;
mod log;

use std::sync::Arc;

use async_trait::async_trait;

pub use self::live::MemoryLive;
pub use self::log::MemoryLog;
use crate::{BusError, EventPublisher, LiveMessage, Outgoing, Record};

/// Live channels, durable topics and the publisher over both, in one process.
#[derive(Debug, Clone)]
pub struct MemoryBus {
    /// The live side.
    pub live: Arc<MemoryLive>,
    /// The durable side.
    pub log: Arc<MemoryLog>,
    stream: String,
}

impl MemoryBus {
    /// A bus whose publisher appends to `stream`, each topic retaining at most `retain`
    /// records.
    pub fn new(stream: impl Into<String>, retain: usize) -> MemoryBus {
        MemoryBus {
            live: Arc::new(MemoryLive::default()),
            log: Arc::new(MemoryLog::new(retain)),
            stream: stream.into(),
        }
    }
}

#[async_trait]
impl EventPublisher for MemoryBus {
    async fn publish(&self, batch: &[Outgoing]) -> Result<(), BusError> {
        let records: Vec<Record> = batch.iter().map(|o| o.record.clone()).collect();
        crate::DurableLog::append(self.log.as_ref(), &self.stream, &records).await?;
        let messages: Vec<LiveMessage> = batch
            .iter()
            .map(|o| LiveMessage {
                channel: o.channel.clone(),
                payload: o.record.payload.clone(),
            })
            .collect();
        crate::LiveBus::publish(self.live.as_ref(), &messages).await
    }
}
