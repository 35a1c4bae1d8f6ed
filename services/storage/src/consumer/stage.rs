//! Storage's [`Stage`]: records decoded and checked into events, events written by the
//! [`ShardedStore`].

use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use tickmesh_bus::pump::{Prepared, Stage, WriteError};
use tickmesh_bus::{Delivery, POSITION_HEADER, Position, Record, TRACEPARENT};
use tickmesh_domain::{MarketEvent, UtcMicros};
use tickmesh_proto::codec::decode_shared;
use tickmesh_proto::envelope::read_book_key;
use tickmesh_proto::routing::TopicNames;
use tokio::sync::Mutex;
use tracing::Instrument as _;

use tickmesh_telemetry::ErrorChain;

use crate::writer::Positioned;
use crate::{BookThrottle, ShardedStore, StorageError, StorageStats, validate};

/// Writes decoded market events into a [`ShardedStore`].
#[derive(Debug)]
pub struct Storing {
    /// The writers; one write at a time (the pump never overlaps two).
    store: Mutex<ShardedStore>,
    /// Which books need no decoding; the writers update it as they commit.
    throttle: BookThrottle,
    bounds: tickmesh_domain::EventBounds,
    topics: TopicNames,
    stats: Arc<StorageStats>,
}

impl Storing {
    /// A stage writing to `store` what it reads from `topics`.
    pub fn new(store: ShardedStore, topics: TopicNames, stats: Arc<StorageStats>) -> Storing {
        Storing {
            throttle: store.book_throttle().clone(),
            bounds: store.config().bounds,
            store: Mutex::new(store),
            topics,
            stats,
        }
    }

    /// The event in a record, or why it cannot be stored.
    fn decode(&self, record: &Record, now: UtcMicros) -> Result<MarketEvent, String> {
        let event = decode_shared(&record.payload).map_err(|e| ErrorChain(&e).to_string())?;
        validate(&event, &self.bounds, now).map_err(|e| ErrorChain(&e).to_string())?;
        Ok(event)
    }
}

/// An event to store, with the trace context and stream position of the record it came in.
#[derive(Debug)]
pub struct Storable {
    /// The event.
    pub event: MarketEvent,
    /// The record's W3C `traceparent` header, if it had one (shared with the record, not
    /// copied).
    pub traceparent: Option<Bytes>,
    /// The event's position in the durable stream, from the header the bridge adds; `None`
    /// when the record has none or one that is not a position.
    pub position: Option<Position>,
}

/// The stream position `record` names in its [`POSITION_HEADER`], if it names one.
fn position(record: &Record) -> Option<Position> {
    let text = std::str::from_utf8(record.header(POSITION_HEADER)?).ok()?;
    text.parse().ok()
}

#[async_trait]
impl Stage for Storing {
    type Item = Storable;

    /// Decodes a batch. An order book the throttle is certain of is not decoded at all: at
    /// high rates nearly every book is throttled, and decoding their levels was most of the
    /// preparation. Such a book is dropped unexamined beyond its envelope, so a bad number
    /// inside it is not dead-lettered; it would not have been stored either way.
    fn prepare(&self, batch: &mut [Delivery]) -> Prepared<Storable> {
        let mut prepared = Prepared::with_capacity(batch.len());
        let now = UtcMicros::now();
        let mut books_skipped = 0;
        for (i, delivery) in batch.iter().enumerate() {
            // Only the books topic is looked at twice; a book anywhere else is decoded in full.
            if delivery.topic == self.topics.orderbooks
                && let Ok(Some(book)) = read_book_key(&delivery.record.payload)
                && self
                    .throttle
                    .certain(book.exchange, book.market, book.exchange_time)
            {
                books_skipped += 1;
                continue;
            }
            match self.decode(&delivery.record, now) {
                Ok(event) => prepared.push(
                    i,
                    Storable {
                        event,
                        traceparent: delivery.record.header(TRACEPARENT).cloned(),
                        position: position(&delivery.record),
                    },
                ),
                Err(reason) => prepared.reject(i, reason),
            }
        }
        self.stats.books_skipped(books_skipped);
        prepared
    }

    async fn write(&self, events: &[Storable]) -> Result<(), WriteError> {
        // The write continues the trace of its first event's record (ingestion's publish
        // span), so one trace follows an event from the exchange to the database.
        let span = tracing::info_span!("storage.write", records = events.len());
        if let Some(parent) = events
            .first()
            .and_then(|e| e.traceparent.as_deref())
            .and_then(|b| std::str::from_utf8(b).ok())
        {
            tickmesh_telemetry::propagation::adopt_traceparent(&span, parent);
        }
        async {
            let mut store = self.store.lock().await;
            let groups = store.split(events.iter().map(|e| Positioned {
                event: &e.event,
                position: e.position,
            }));
            match store.write(&groups).await {
                Ok(summary) => {
                    self.stats.committed(events.len(), &summary);
                    tracing::debug!(records = events.len(), ?summary, "batch committed");
                    Ok(())
                }
                Err(e) => Err(classify(e)),
            }
        }
        .instrument(span)
        .await
    }

    fn dead_record<'a>(&self, _event: &'a Storable, delivery: &'a Delivery) -> &'a Record {
        &delivery.record
    }
}

/// A storage failure as the pump must treat it.
fn classify(e: StorageError) -> WriteError {
    if e.is_retryable() {
        WriteError::retryable(e)
    } else {
        WriteError::permanent(e)
    }
}
