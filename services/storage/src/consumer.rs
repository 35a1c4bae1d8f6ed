//! The storage service loop: durable log in, database rows out, on the shared consume loop
//! ([`tickmesh_bus::pump`]).
//!
//! For each batch the [`Storing`] stage decodes the records and checks them against what can
//! be stored (values, times, trade ids); the pump dead-letters what fails with the reason,
//! writes the rest in one transaction per writer, and acknowledges the whole batch only after
//! the transaction committed. A crash between commit and acknowledgement redelivers the
//! batch, which the idempotent writer absorbs. While the database is down the write is retried
//! with capped backoff, never acknowledged and never skipped; a write the database refuses for
//! the data in it (a value out of range, a constraint) is split until the records at fault are
//! found and dead-lettered, so one bad record never stops the others.

mod stage;

use std::sync::Arc;
use std::time::Duration;

use tickmesh_bus::pump::{Pump, PumpConfig, PumpStop, RetryPolicy};
use tickmesh_bus::{BusError, DurableLog};
use tickmesh_proto::routing::{STORAGE_GROUP, TopicNames};
use tracing::info;

pub use self::stage::Storing;
use crate::{HistoryConfig, MaintenanceConfig, ShardedStore, StorageStats};

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
    /// always has one). Raise it where PostgreSQL has cores to spare.
    pub writers: usize,
    /// How long to keep gathering after the first record before writing, unless `batch_max`
    /// is reached first: fewer, larger transactions cost the database far less per event
    /// than one per arriving record, for at most this much added latency.
    pub linger: Duration,
    /// Delays between attempts while the database or the log fails.
    pub retry: RetryPolicy,
    /// The topics: the three market topics are read, dead letters go to `topics.dlq`.
    pub topics: TopicNames,
    /// What `HistoryService` reads may cost, and the pool they run on.
    pub history: HistoryConfig,
    /// Partitions and retention (see [`crate::maintenance`]).
    pub maintenance: MaintenanceConfig,
}

impl Default for StorageServiceConfig {
    fn default() -> StorageServiceConfig {
        StorageServiceConfig {
            group: STORAGE_GROUP.to_owned(),
            consumer: "storage".to_owned(),
            // Per batch there is a fixed cost (a transaction per writer, an offset commit
            // round trip), so batches must be large enough for the rates the mesh carries.
            batch_max: 2_000,
            poll_wait: Duration::from_millis(200),
            linger: Duration::from_millis(100),
            writers: 1,
            retry: RetryPolicy::default(),
            topics: TopicNames::default(),
            history: HistoryConfig::default(),
            maintenance: MaintenanceConfig::default(),
        }
    }
}

/// Consumes the market topics into `store` until `stop`.
///
/// Returns `Ok` on stop, after finishing the batch in hand when the database allows (a
/// batch not committed by then stays unacknowledged and is delivered again later, as does a
/// batch fetched ahead). Returns an error only for failures retrying cannot fix: the log
/// refusing this member.
pub async fn run(
    log: Arc<dyn DurableLog>,
    store: impl Into<ShardedStore>,
    config: StorageServiceConfig,
    stats: Arc<StorageStats>,
    stop: PumpStop,
) -> Result<(), BusError> {
    let store = store.into();
    info!(group = %config.group, consumer = %config.consumer, writers = store.writers(), "storage consumer starting");
    let topics: Vec<String> = config
        .topics
        .market()
        .into_iter()
        .map(str::to_owned)
        .collect();
    let mut pump_config = PumpConfig::new(
        topics,
        config.group.clone(),
        config.consumer.clone(),
        config.topics.dlq.clone(),
    );
    pump_config.batch_max = config.batch_max;
    pump_config.poll_wait = config.poll_wait;
    pump_config.linger = config.linger;
    pump_config.retry = config.retry;
    let stage = Storing::new(store, config.topics.clone(), Arc::clone(&stats));
    Pump::new(pump_config, Arc::clone(&log), log, stage)
        .with_events(stats)
        .run(stop)
        .await
}
