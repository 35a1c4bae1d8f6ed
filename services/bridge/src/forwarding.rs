//! The bridge's [`Stage`]: stream entries routed to their kind's topic and appended there.

use std::sync::Arc;

use async_trait::async_trait;
use tickmesh_bus::pump::{Prepared, Stage, WriteError};
use tickmesh_bus::{Delivery, DurableLog, Record};
use tickmesh_domain::{EventKind, UtcMicros};
use tickmesh_proto::routing::TopicNames;
use tracing::Instrument as _;

use crate::route::route;
use crate::stats::BridgeStats;

/// One entry on its way: where it goes, the record, and when its event was received.
#[derive(Debug)]
pub struct Routed {
    /// The event's kind, which names its topic.
    pub kind: EventKind,
    /// The record, as the topic gets it.
    pub record: Record,
    /// The event's `received_time`, µs.
    pub received_us: i64,
}

/// Appends routed entries to the topics of `sink`.
#[derive(Debug)]
pub struct Forwarding {
    sink: Arc<dyn DurableLog>,
    topics: TopicNames,
    stats: Arc<BridgeStats>,
}

impl Forwarding {
    /// Forwarding to `topics` on `sink`, reporting the hand-off's age to `stats`.
    pub fn new(
        sink: Arc<dyn DurableLog>,
        topics: TopicNames,
        stats: Arc<BridgeStats>,
    ) -> Forwarding {
        Forwarding {
            sink,
            topics,
            stats,
        }
    }
}

#[async_trait]
impl Stage for Forwarding {
    type Item = Routed;

    fn prepare(&self, batch: &mut [Delivery]) -> Prepared<Routed> {
        let mut prepared = Prepared::with_capacity(batch.len());
        for (i, delivery) in batch.iter_mut().enumerate() {
            match route(&mut delivery.record) {
                Ok((kind, received)) => prepared.push(
                    i,
                    Routed {
                        kind,
                        record: std::mem::take(&mut delivery.record),
                        received_us: received.as_micros(),
                    },
                ),
                Err(reason) => prepared.reject(i, reason),
            }
        }
        prepared
    }

    async fn write(&self, items: &[Routed]) -> Result<(), WriteError> {
        // One append per topic, all at once: each waits for the producer's linger and the
        // broker's acknowledgement, which in sequence would add up per topic.
        let mut per_topic: Vec<(&str, Vec<Record>)> = Vec::with_capacity(EventKind::ALL.len());
        for item in items {
            let topic = self.topics.for_kind(item.kind);
            match per_topic.iter_mut().find(|(t, _)| *t == topic) {
                Some((_, records)) => records.push(item.record.clone()),
                None => per_topic.push((topic, vec![item.record.clone()])),
            }
        }
        // The write continues the trace of its first record (ingestion's publish span).
        let span = tracing::info_span!("bridge.forward", entries = items.len());
        if let Some(parent) = items.first().and_then(|i| i.record.traceparent()) {
            tickmesh_telemetry::propagation::adopt_traceparent(&span, parent);
        }
        let results = futures::future::join_all(
            per_topic
                .iter()
                .map(|(topic, records)| self.sink.append(topic, records)),
        )
        .instrument(span)
        .await;
        // A refusal names records that can never be written; it wins over an outage, so the
        // pump splits the write and finds them.
        let mut failure: Option<WriteError> = None;
        for result in results {
            if let Err(e) = result {
                let e = WriteError::from(e);
                if failure.as_ref().is_none_or(WriteError::is_retryable) {
                    failure = Some(e);
                }
            }
        }
        failure.map_or(Ok(()), Err)
    }

    fn dead_record<'a>(&self, item: &'a Routed, _delivery: &'a Delivery) -> &'a Record {
        &item.record
    }

    fn written(&self, items: &[Routed]) {
        if let Some(oldest) = items.iter().map(|i| i.received_us).min() {
            self.stats
                .confirmed(UtcMicros::now().as_micros().saturating_sub(oldest));
        }
    }
}
