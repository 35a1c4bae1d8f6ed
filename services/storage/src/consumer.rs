//! The storage service loop: durable log in, database rows out.
//!
//! For each batch [`run`] decodes the records, dead-letters the ones that are not storable
//! events, writes the rest in one transaction and acknowledges the whole batch only after the
//! transaction committed. A crash between commit and acknowledgement redelivers the batch,
//! which the idempotent writer absorbs. While the database (or the log) is down the same batch
//! is retried with capped exponential backoff, never acknowledged and never skipped.

use std::sync::Arc;
use std::time::Duration;

use tickmesh_bus::{Delivery, DurableLog, LogConsumer, Record};
use tickmesh_domain::MarketEvent;
use tickmesh_proto::codec::decode_event;
use tickmesh_proto::routing::{ERROR_HEADER, STORAGE_GROUP, TopicNames};
use tokio_util::sync::CancellationToken;
use tracing::Instrument as _;
use tracing::{debug, info, warn};

use crate::{ErrorChain, ShardedStore, StorageError, StorageStats, validate};

/// First delay after a failure.
const BACKOFF_START: Duration = Duration::from_millis(100);
/// Longest delay between attempts.
const BACKOFF_MAX: Duration = Duration::from_secs(5);

/// How the storage service consumes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StorageServiceConfig {
    /// Consumer group (`storage`).
    pub group: String,
    /// This member's name in the group; a restarted member under the same name gets back what
    /// it had not acknowledged.
    pub consumer: String,
    /// Most records per batch (and so per transaction).
    pub batch_max: usize,
    /// How long one poll waits for the first record.
    pub poll_wait: Duration,
    /// Concurrent database writers, each taking a share of the markets (PostgreSQL; SQLite
    /// always has one). On the 2-core bench machine 1 and 4 measured the same, since
    /// PostgreSQL had no core to spare; raise it where it has.
    pub writers: usize,
    /// How long to keep gathering after the first record before writing, unless `batch_max`
    /// is reached first: fewer, larger transactions cost the database far less per event
    /// than one per arriving record, for at most this much added latency.
    pub linger: Duration,
    /// The topics: the three market topics are read, dead letters go to `topics.dlq`.
    pub topics: TopicNames,
}

impl Default for StorageServiceConfig {
    fn default() -> StorageServiceConfig {
        StorageServiceConfig {
            group: STORAGE_GROUP.to_owned(),
            consumer: "storage".to_owned(),
            // Per batch there is a fixed cost (a transaction per writer, an offset commit
            // round trip); `tickmesh bench` at 25,000 events/s kept up with 2,000 and fell
            // behind with 500.
            batch_max: 2_000,
            poll_wait: Duration::from_millis(200),
            linger: Duration::from_millis(100),
            writers: 1,
            topics: TopicNames::default(),
        }
    }
}

/// Consumes the market topics into `store` until `shutdown`.
///
/// Returns `Ok` on shutdown, after finishing the batch in hand when the database allows (a
/// batch not committed by then stays unacknowledged and is delivered again later). Returns an
/// error only for failures retrying cannot fix: the log refusing a request, or a stored row
/// tickmesh cannot read.
pub async fn run(
    log: Arc<dyn DurableLog>,
    store: impl Into<ShardedStore>,
    config: StorageServiceConfig,
    stats: Arc<StorageStats>,
    shutdown: CancellationToken,
) -> Result<(), StorageError> {
    let mut store = store.into();
    info!(group = %config.group, consumer = %config.consumer, writers = store.writers(), "storage consumer starting");
    let mut backoff = Backoff::new();
    let mut consumer = loop {
        match log
            .consume(&config.topics.market(), &config.group, &config.consumer)
            .await
        {
            Ok(consumer) => break consumer,
            Err(e) => {
                stats.bus_error();
                if !backoff
                    .after(e.into(), "joining the consumer group", &shutdown)
                    .await?
                {
                    return Ok(());
                }
            }
        }
    };
    let mut backoff = Backoff::new();
    while !shutdown.is_cancelled() {
        let batch = match consumer.poll(config.batch_max, config.poll_wait).await {
            Ok(batch) => batch,
            Err(e) => {
                stats.bus_error();
                if !backoff
                    .after(e.into(), "polling the log", &shutdown)
                    .await?
                {
                    break;
                }
                continue;
            }
        };
        backoff = Backoff::new();
        if batch.is_empty() {
            continue;
        }
        let batch = linger(consumer.as_mut(), batch, &config, &stats).await;
        // The batch continues the trace of its first record (ingestion's publish span), so one
        // trace follows an event from the exchange to the database.
        let span = tracing::info_span!("storage.write", records = batch.len());
        if let Some(parent) = batch
            .first()
            .and_then(|d| d.record.header(tickmesh_bus::TRACEPARENT))
            .and_then(|v| std::str::from_utf8(v).ok())
        {
            tickmesh_telemetry::propagation::adopt_traceparent(&span, parent);
        }
        let handled = handle_batch(
            log.as_ref(),
            &config.topics.dlq,
            consumer.as_mut(),
            &mut store,
            &batch,
            &stats,
            &shutdown,
        )
        .instrument(span)
        .await?;
        if !handled {
            break;
        }
    }
    info!(consumer = %config.consumer, "storage consumer stopped");
    Ok(())
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

/// Dead-letters, writes and acknowledges one batch, each step retried until it succeeds.
/// `Ok(false)` when shutdown interrupted it before the acknowledgement.
async fn handle_batch(
    log: &dyn DurableLog,
    dlq: &str,
    consumer: &mut dyn LogConsumer,
    store: &mut ShardedStore,
    batch: &[Delivery],
    stats: &StorageStats,
    shutdown: &CancellationToken,
) -> Result<bool, StorageError> {
    let mut events = Vec::with_capacity(batch.len());
    let mut dead = Vec::new();
    for delivery in batch {
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
        while let Err(e) = log.append(dlq, &dead).await {
            stats.bus_error();
            if !backoff
                .after(e.into(), "dead-letter append", shutdown)
                .await?
            {
                return Ok(false);
            }
        }
        stats.dead_lettered(dead.len());
    }
    let started = std::time::Instant::now();
    let events = store.split(events);
    let mut backoff = Backoff::new();
    let summary = loop {
        match store.write(&events).await {
            Ok(summary) => break summary,
            Err(e) => {
                stats.db_error();
                if !backoff.after(e, "database write", shutdown).await? {
                    return Ok(false);
                }
            }
        }
    };
    stats.committed(events.iter().map(Vec::len).sum(), &summary);
    debug!(records = batch.len(), ?summary, "batch committed");
    let mut backoff = Backoff::new();
    while let Err(e) = consumer.ack(batch).await {
        stats.bus_error();
        if !backoff.after(e.into(), "acknowledgement", shutdown).await? {
            return Ok(false);
        }
    }
    stats.batch_took(started.elapsed());
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
struct Backoff {
    delay: Duration,
}

impl Backoff {
    fn new() -> Backoff {
        Backoff {
            delay: BACKOFF_START,
        }
    }

    /// Handles a failed attempt: `Err` when retrying cannot help, otherwise waits the current
    /// delay and doubles it. `Ok(false)` when shutdown came during the wait.
    async fn after(
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
