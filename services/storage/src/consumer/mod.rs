//! The storage service loop: durable log in, database rows out.
//!
//! For each batch [`run`] decodes the records, dead-letters the ones that are not storable
//! events, writes the rest in one transaction and acknowledges the whole batch only after the
//! transaction committed. A crash between commit and acknowledgement redelivers the batch,
//! which the idempotent writer absorbs. While the database (or the log) is down the same batch
//! is retried with capped exponential backoff, never acknowledged and never skipped.
//!
//! The database and the log work at the same time: while one batch is written, the previous
//! (committed) batch is acknowledged and the next is fetched and decoded. `tickmesh bench`
//! found the serial loop (fetch, write, commit offsets, each waiting on the one before) to be
//! the stage that fell behind on a busy machine; decoding between the writes was a further
//! 2.4 ms of each 32 ms cycle at 70,000 events/s (1.1 ms is left outside the overlap now).
//! At most one batch is fetched ahead, so memory stays bounded by two batches, and
//! acknowledgements stay in delivery order.

mod steps;

use std::sync::Arc;
use std::time::{Duration, Instant};

use tickmesh_bus::{Delivery, DurableLog, LogConsumer};
use tickmesh_proto::routing::{STORAGE_GROUP, TopicNames};
use tokio_util::sync::CancellationToken;
use tracing::{debug, info};

use self::steps::{Backoff, Prepared};
use crate::{BookThrottle, ShardedStore, StorageError, StorageStats};

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
/// batch not committed by then stays unacknowledged and is delivered again later, as does a
/// batch fetched ahead). Returns an error only for failures retrying cannot fix: the log
/// refusing a request, or a stored row tickmesh cannot read.
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
    // Which books need no decoding; the writers update it as they commit.
    let throttle = store.book_throttle().clone();
    // A committed batch not yet acknowledged, with the instant its write started.
    let mut committed: Option<(Vec<Delivery>, Instant)> = None;
    // The batch fetched (and decoded) while the previous one was written.
    let mut ahead: Option<(Vec<Delivery>, Prepared)> = None;
    while !shutdown.is_cancelled() {
        let (batch, prepared) = match ahead.take() {
            Some(next) => next,
            None => {
                // Nothing came during the last write: acknowledge it before waiting for more.
                if !settle(consumer.as_mut(), &mut committed, &stats, &shutdown).await? {
                    break;
                }
                let Some(batch) =
                    steps::fetch(consumer.as_mut(), &config, &stats, &shutdown).await?
                else {
                    break;
                };
                if batch.is_empty() {
                    continue;
                }
                let Some(prepared) =
                    prepare(&log, &config, &throttle, &batch, &stats, &shutdown).await?
                else {
                    break;
                };
                (batch, prepared)
            }
        };
        let started = Instant::now();
        let (written, next) = tokio::join!(
            async {
                let written = steps::write(&mut store, prepared, &batch, &stats, &shutdown).await;
                (written, started.elapsed())
            },
            async {
                if !settle(consumer.as_mut(), &mut committed, &stats, &shutdown).await? {
                    return Ok::<_, StorageError>(None);
                }
                let acked = started.elapsed();
                let Some(next) =
                    steps::fetch(consumer.as_mut(), &config, &stats, &shutdown).await?
                else {
                    return Ok(None);
                };
                let fetched = started.elapsed();
                if next.is_empty() {
                    return Ok(Some((None, acked, fetched)));
                }
                // Decoding takes CPU while the database works on the write.
                let prepared = prepare(&log, &config, &throttle, &next, &stats, &shutdown).await?;
                Ok(prepared.map(|prepared| (Some((next, prepared)), acked, fetched)))
            }
        );
        let ((written, write_took), next) = (written, next?);
        if let Some((_, ack_took, fetch_done)) = &next {
            // Which side of the pipeline a batch waits for: the database, or the log.
            debug!(
                records = batch.len(),
                write_ms = write_took.as_millis(),
                ack_ms = ack_took.as_millis(),
                ack_and_fetch_ms = fetch_done.as_millis(),
                "batch timings"
            );
        }
        if !written? {
            break;
        }
        committed = Some((batch, started));
        match next {
            Some((next, _, _)) => ahead = next,
            None => break,
        }
    }
    // The last committed batch is acknowledged once more if it can be at once; otherwise it
    // is delivered again after the restart and the idempotent writer absorbs it.
    settle(consumer.as_mut(), &mut committed, &stats, &shutdown).await?;
    info!(consumer = %config.consumer, "storage consumer stopped");
    Ok(())
}

/// [`steps::prepare`] with the service's topics.
async fn prepare(
    log: &Arc<dyn DurableLog>,
    config: &StorageServiceConfig,
    throttle: &BookThrottle,
    batch: &[Delivery],
    stats: &StorageStats,
    shutdown: &CancellationToken,
) -> Result<Option<Prepared>, StorageError> {
    steps::prepare(
        log.as_ref(),
        &config.topics,
        throttle,
        batch,
        stats,
        shutdown,
    )
    .await
}

/// Acknowledges the committed batch, if any. `false` when shutdown interrupted the retries
/// (the batch stays in `committed`).
async fn settle(
    consumer: &mut dyn LogConsumer,
    committed: &mut Option<(Vec<Delivery>, Instant)>,
    stats: &StorageStats,
    shutdown: &CancellationToken,
) -> Result<bool, StorageError> {
    let Some((batch, started)) = committed.as_ref() else {
        return Ok(true);
    };
    if !steps::ack(consumer, batch, stats, shutdown).await? {
        return Ok(false);
    }
    stats.batch_took(started.elapsed());
    *committed = None;
    Ok(true)
}
