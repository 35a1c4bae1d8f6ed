//! The bridge's [`Stage`]: stream entries routed to their kind's topic, stamped with their
//! stream position, and appended there.

use std::sync::Arc;

use async_trait::async_trait;
use tickmesh_bus::pump::{Prepared, Stage, WriteError};
use tickmesh_bus::{Delivery, DurableLog, Record};
use tickmesh_domain::{EventKind, UtcMicros};
use tickmesh_proto::routing::TopicNames;
use tracing::Instrument as _;

use crate::route::{route, stamp_position};
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
                Ok((kind, received)) => {
                    stamp_position(&mut delivery.record, &delivery.cursor);
                    prepared.push(
                        i,
                        Routed {
                            kind,
                            record: std::mem::take(&mut delivery.record),
                            received_us: received.as_micros(),
                        },
                    );
                }
                Err(reason) => prepared.reject(i, reason),
            }
        }
        prepared
    }

    async fn write(&self, items: &[Routed]) -> Result<(), WriteError> {
        // One append per topic, all at once: each waits for the producer's linger and the
        // broker's acknowledgement, which in sequence would add up per topic.
        // The records are lent, not cloned: a clone was several allocations per event.
        let mut per_topic: Vec<(&str, Vec<&Record>)> = Vec::with_capacity(EventKind::ALL.len());
        for item in items {
            let topic = self.topics.for_kind(item.kind);
            match per_topic.iter_mut().find(|(t, _)| *t == topic) {
                Some((_, records)) => records.push(&item.record),
                None => per_topic.push((topic, vec![&item.record])),
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
                .map(|(topic, records)| self.sink.append_refs(topic, records)),
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use tickmesh_bus::memory::MemoryLog;
    use tickmesh_bus::{Cursor, POSITION_HEADER};
    use tickmesh_domain::{Exchange, Market, MarketEvent, Payload, Ticker};
    use tickmesh_proto::codec;

    use super::*;

    fn delivery(cursor: &str, payload: Vec<u8>) -> Delivery {
        Delivery {
            topic: "tickmesh:events".to_owned(),
            cursor: Cursor::new(cursor),
            record: Record::new("upbit:BTC/KRW", payload),
        }
    }

    fn ticker() -> Vec<u8> {
        codec::encode_event(&MarketEvent {
            exchange: Exchange::Upbit,
            market: Market::parse("BTC").unwrap(),
            exchange_time: UtcMicros(1),
            received_time: UtcMicros(2),
            payload: Payload::Ticker(Ticker {
                last: 1.into(),
                ..Ticker::default()
            }),
            raw: None,
        })
        .to_vec()
    }

    #[test]
    fn routed_records_carry_their_stream_position() {
        let forwarding = Forwarding::new(
            Arc::new(MemoryLog::new(10)),
            TopicNames::default(),
            Arc::new(BridgeStats::new()),
        );
        let mut batch = [
            delivery("1765000000123-7", ticker()),
            delivery("17", ticker()),
            delivery("1765000000124-0", b"\xff\xffnot protobuf".to_vec()),
        ];
        let prepared = forwarding.prepare(&mut batch);
        assert_eq!(prepared.origins, [0, 1]);
        let position = |r: &Routed| r.record.header(POSITION_HEADER).cloned();
        assert_eq!(
            position(&prepared.items[0]).unwrap().as_ref(),
            b"1765000000123-7"
        );
        assert_eq!(position(&prepared.items[1]), None);
        assert_eq!(prepared.rejects.len(), 1);
    }
}
