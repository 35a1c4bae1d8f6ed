//! The steps of one batch, each retried with capped backoff until it succeeds, shutdown comes
//! or the failure is one retrying cannot fix: fetch, dead-letter, write, acknowledge.

use std::time::Duration;

use tickmesh_bus::{Delivery, DurableLog, LogConsumer, Record};
use tickmesh_domain::MarketEvent;
use tickmesh_proto::codec::decode_event;
use tickmesh_proto::envelope::read_book_key;
use tickmesh_proto::routing::{ERROR_HEADER, TopicNames};
use tokio_util::sync::CancellationToken;
use tracing::{Instrument as _, warn};

use super::StorageServiceConfig;
use crate::{
    BookThrottle, ErrorChain, ShardedStore, StorageError, StorageStats, WriteSummary, validate,
};

/// First delay after a failure.
const BACKOFF_START: Duration = Duration::from_millis(100);
/// Longest delay between attempts.
const BACKOFF_MAX: Duration = Duration::from_secs(5);

/// The next batch: a poll, then more polls until `batch_max` or `linger`. Empty when nothing
/// came within `poll_wait`; `None` when shutdown came while a failing poll was retried.
pub(super) async fn fetch(
    consumer: &mut dyn LogConsumer,
    config: &StorageServiceConfig,
    stats: &StorageStats,
    shutdown: &CancellationToken,
) -> Result<Option<Vec<Delivery>>, StorageError> {
    let mut backoff = Backoff::new();
    let batch = loop {
        match consumer.poll(config.batch_max, config.poll_wait).await {
            Ok(batch) => break batch,
            Err(e) => {
                stats.bus_error();
                if !backoff.after(e.into(), "polling the log", shutdown).await? {
                    return Ok(None);
                }
            }
        }
    };
    if batch.is_empty() {
        return Ok(Some(batch));
    }
    Ok(Some(linger(consumer, batch, config, stats).await))
}

/// Keeps polling after the first records until `batch_max` or `linger` is reached. A failed
/// poll ends the wait early: what is in hand is written (a Kafka consumer would not deliver
/// it again before a restart), and the next poll meets the failure and backs off.
async fn linger(
    consumer: &mut dyn LogConsumer,
    mut batch: Vec<Delivery>,
    config: &StorageServiceConfig,
    stats: &StorageStats,
) -> Vec<Delivery> {
    let until = tokio::time::Instant::now() + config.linger;
    while batch.len() < config.batch_max {
        let left = until.saturating_duration_since(tokio::time::Instant::now());
        if left.is_zero() {
            break;
        }
        match consumer.poll(config.batch_max - batch.len(), left).await {
            Ok(more) => batch.extend(more),
            Err(e) => {
                stats.bus_error();
                warn!(error = %ErrorChain(&e), "polling the log while gathering a batch failed; writing what is in hand");
                break;
            }
        }
    }
    batch
}

/// The events of a batch to write, and how many order books were left out because the
/// throttle was certain to drop them.
pub(super) struct Prepared {
    pub(super) events: Vec<MarketEvent>,
    pub(super) books_skipped: usize,
}

/// Decodes `batch` and sends what is not a storable event to the dead-letter topic. `None`
/// when shutdown interrupted the dead-letter append.
///
/// An order book that `throttle` is certain of is not decoded at all: at the bench's
/// 35,000 events/s nearly every book is throttled (15 markets, one snapshot a second each,
/// about 5,000 books a second), and decoding their levels took about 40 ms of a 60 ms
/// batch of 2,000 books. Such a book is dropped unexamined beyond its envelope, so a bad
/// number inside it is not dead-lettered; it would not have been stored either way.
pub(super) async fn prepare(
    log: &dyn DurableLog,
    topics: &TopicNames,
    throttle: &BookThrottle,
    batch: &[Delivery],
    stats: &StorageStats,
    shutdown: &CancellationToken,
) -> Result<Option<Prepared>, StorageError> {
    let mut events = Vec::with_capacity(batch.len());
    let mut books_skipped = 0;
    let mut dead = Vec::new();
    for delivery in batch {
        // Only the books topic is looked at twice; a book anywhere else is decoded in full.
        if delivery.topic == topics.orderbooks
            && let Ok(Some(book)) = read_book_key(&delivery.record.payload)
            && throttle.certain(book.exchange, book.market, book.exchange_time)
        {
            books_skipped += 1;
            continue;
        }
        match decode(delivery) {
            Ok(event) => events.push(event),
            Err(reason) => {
                warn!(topic = %delivery.topic, cursor = %delivery.cursor, %reason, "dead-lettering a record");
                dead.push(dead_letter(&delivery.record, reason));
            }
        }
    }
    if !dead.is_empty() {
        let mut backoff = Backoff::new();
        while let Err(e) = log.append(&topics.dlq, &dead).await {
            stats.bus_error();
            if !backoff
                .after(e.into(), "dead-letter append", shutdown)
                .await?
            {
                return Ok(None);
            }
        }
        stats.dead_lettered(dead.len());
    }
    Ok(Some(Prepared {
        events,
        books_skipped,
    }))
}

/// Writes the events of `batch` (from [`prepare`]) until the database commits them. `false`
/// when shutdown interrupted the retries.
pub(super) async fn write(
    store: &mut ShardedStore,
    prepared: Prepared,
    batch: &[Delivery],
    stats: &StorageStats,
    shutdown: &CancellationToken,
) -> Result<bool, StorageError> {
    // The batch continues the trace of its first record (ingestion's publish span), so one
    // trace follows an event from the exchange to the database.
    let span = tracing::info_span!("storage.write", records = batch.len());
    if let Some(parent) = batch.first().and_then(|d| d.record.traceparent()) {
        tickmesh_telemetry::propagation::adopt_traceparent(&span, parent);
    }
    async {
        let Prepared {
            events,
            books_skipped,
        } = prepared;
        let groups = store.split(events);
        let mut backoff = Backoff::new();
        let summary: WriteSummary = loop {
            match store.write(&groups).await {
                Ok(mut summary) => {
                    summary.orderbooks_throttled += books_skipped;
                    break summary;
                }
                Err(e) => {
                    stats.db_error();
                    if !backoff.after(e, "database write", shutdown).await? {
                        return Ok(false);
                    }
                }
            }
        };
        let handled = groups.iter().map(Vec::len).sum::<usize>() + books_skipped;
        stats.committed(handled, &summary);
        tracing::debug!(records = batch.len(), ?summary, "batch committed");
        Ok(true)
    }
    .instrument(span)
    .await
}

/// Acknowledges a committed batch. `false` when shutdown interrupted the retries.
pub(super) async fn ack(
    consumer: &mut dyn LogConsumer,
    batch: &[Delivery],
    stats: &StorageStats,
    shutdown: &CancellationToken,
) -> Result<bool, StorageError> {
    let mut backoff = Backoff::new();
    while let Err(e) = consumer.ack(batch).await {
        stats.bus_error();
        if !backoff.after(e.into(), "acknowledgement", shutdown).await? {
            return Ok(false);
        }
    }
    Ok(true)
}

/// The event in a record, or why it cannot be stored.
fn decode(delivery: &Delivery) -> Result<MarketEvent, String> {
    let event = decode_event(&delivery.record.payload).map_err(|e| ErrorChain(&e).to_string())?;
    validate(&event).map_err(|e| ErrorChain(&e).to_string())?;
    Ok(event)
}

/// The record as it came, plus the reason it could not be stored.
fn dead_letter(record: &Record, reason: String) -> Record {
    record.clone().with_header(ERROR_HEADER, reason)
}

/// Capped exponential backoff between attempts of one operation.
#[derive(Debug)]
pub(super) struct Backoff {
    delay: Duration,
}

impl Backoff {
    pub(super) fn new() -> Backoff {
        Backoff {
            delay: BACKOFF_START,
        }
    }

    /// Handles a failed attempt: `Err` when retrying cannot help, otherwise waits the current
    /// delay and doubles it. `Ok(false)` when shutdown came during the wait.
    pub(super) async fn after(
        &mut self,
        error: StorageError,
        what: &'static str,
        shutdown: &CancellationToken,
    ) -> Result<bool, StorageError> {
        if !error.is_retryable() {
            return Err(error);
        }
        warn!(error = %ErrorChain(&error), delay = ?self.delay, "{what} failed; retrying");
        let slept = tokio::select! {
            () = shutdown.cancelled() => false,
            () = tokio::time::sleep(self.delay) => true,
        };
        self.delay = (self.delay * 2).min(BACKOFF_MAX);
        Ok(slept)
    }
}
