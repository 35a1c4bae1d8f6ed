//! The durable side: append-only topics read by consumer groups.

use std::time::Duration;

use async_trait::async_trait;

use crate::{BusError, Delivery, Record};

/// Durable append and group consumption.
///
/// Contract (checked by [`crate::conformance::log`]):
/// - `append` returns only once the log holds the records durably (Kafka `acks=all`, Redis
///   `XADD` replies), in order per key. It fails with [`BusError::Rejected`] when a record can
///   never be written (larger than the broker takes, say), in which case other records of
///   the call may or may not have been written; with [`BusError::Unavailable`] when the same
///   call may succeed later.
/// - Every consumer group reads every record appended to its topics, from the beginning of
///   what the log retains when the group is new.
/// - A consumer that rejoins its group under the same name first receives again every record
///   it had been given but not acknowledged, and never one it acknowledged.
#[async_trait]
pub trait DurableLog: Send + Sync + std::fmt::Debug {
    /// Appends `records` to `topic` and waits until they are durable.
    async fn append(&self, topic: &str, records: &[Record]) -> Result<(), BusError>;

    /// [`DurableLog::append`] of records the caller keeps elsewhere (the bridge's batch holds
    /// records of several topics), with the same contract. This default copies them into
    /// one slice; a log that reads records only by reference (Kafka copies each into
    /// librdkafka anyway) overrides it and copies nothing.
    async fn append_refs(&self, topic: &str, records: &[&Record]) -> Result<(), BusError> {
        let owned: Vec<Record> = records.iter().map(|r| (*r).clone()).collect();
        self.append(topic, &owned).await
    }

    /// Joins `group` as `consumer`, reading `topics`.
    async fn consume(
        &self,
        topics: &[&str],
        group: &str,
        consumer: &str,
    ) -> Result<Box<dyn LogConsumer>, BusError>;
}

/// One member of a consumer group.
#[async_trait]
pub trait LogConsumer: Send + std::fmt::Debug {
    /// Up to `max` deliveries, waiting at most `wait` for the first one (an empty batch when
    /// nothing came).
    async fn poll(&mut self, max: usize, wait: Duration) -> Result<Vec<Delivery>, BusError>;

    /// Acknowledges the deliveries: they are done and will not be delivered again to this
    /// group. Consumers acknowledge in delivery order (a Kafka commit covers every earlier
    /// record of the partition).
    async fn ack(&mut self, deliveries: &[Delivery]) -> Result<(), BusError>;

    /// How far the group is behind on its topics, where the backend can tell (Redis keeps a
    /// group's lag and pending count; others report [`Backlog::default`], all unknown).
    async fn backlog(&mut self) -> Result<Backlog, BusError> {
        Ok(Backlog::default())
    }
}

/// How far a consumer group is behind, summed over its topics; `None` where unknown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Backlog {
    /// Records appended but not yet delivered to the group.
    pub lag: Option<u64>,
    /// Records delivered to the group and not yet acknowledged.
    pub pending: Option<u64>,
    /// Records this consumer took over from members that left them unacknowledged, since it
    /// joined.
    pub reclaimed: u64,
    /// Records the log dropped (retention, stream trimming) before the group read or finished
    /// them, as this consumer found them since it joined: lost for this group. Counted once
    /// across the members of a group where the backend can tell.
    pub trimmed: u64,
}
