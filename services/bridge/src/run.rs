//! The bridge's configuration and its run: a [`Pump`] from the stream to the topics.

use std::sync::Arc;
use std::time::Duration;

use tickmesh_bus::pump::{Pump, PumpConfig, PumpStop, RetryPolicy};
use tickmesh_bus::{BusError, DurableLog};
use tickmesh_proto::routing::{self, TopicNames};

use crate::forwarding::Forwarding;
use crate::stats::BridgeStats;

/// Settings of the bridge.
#[derive(Debug, Clone)]
pub struct BridgeConfig {
    /// The stream to read.
    pub stream: String,
    /// The consumer group.
    pub group: String,
    /// This member's name in the group. Keep it stable across restarts (a StatefulSet
    /// ordinal, a host name) so a restarted bridge re-reads its own pending entries at once;
    /// entries of a member that never returns are reclaimed by the others after the
    /// adapter's idle time.
    pub consumer: String,
    /// Most entries per batch.
    pub batch_max: usize,
    /// How long one read waits for entries.
    pub poll_wait: Duration,
    /// Delays between attempts while the source or the sink fails.
    pub retry: RetryPolicy,
    /// How often the group's lag and pending count are sampled.
    pub sample_every: Duration,
    /// The Kafka topics written.
    pub topics: TopicNames,
}

impl Default for BridgeConfig {
    fn default() -> Self {
        BridgeConfig {
            stream: routing::EVENTS_STREAM.to_owned(),
            group: routing::BRIDGE_GROUP.to_owned(),
            consumer: "bridge-0".to_owned(),
            // One batch is in the sink at a time, so throughput is at most one batch per
            // producer linger plus acknowledgement: the batch must be large enough for the
            // highest rate the mesh is meant to carry.
            batch_max: 5_000,
            poll_wait: Duration::from_millis(200),
            retry: RetryPolicy::default(),
            sample_every: Duration::from_secs(1),
            topics: TopicNames::default(),
        }
    }
}

/// Runs the bridge until `stop`: every entry of the stream goes to its kind's topic (or, if
/// it is not a market event or the sink refuses it for good, to the dead-letter topic with
/// the reason), and is acknowledged on the stream only after the sink confirmed it.
///
/// A batch not confirmed when the bridge stops stays pending in the stream, and the next
/// bridge with this consumer name sends it (at least once; storage deduplicates).
pub async fn run_bridge(
    source: Arc<dyn DurableLog>,
    sink: Arc<dyn DurableLog>,
    config: BridgeConfig,
    stats: Arc<BridgeStats>,
    stop: PumpStop,
) -> Result<(), BusError> {
    let mut pump_config = PumpConfig::new(
        vec![config.stream.clone()],
        config.group.clone(),
        config.consumer.clone(),
        config.topics.dlq.clone(),
    );
    pump_config.batch_max = config.batch_max;
    pump_config.poll_wait = config.poll_wait;
    pump_config.retry = config.retry;
    pump_config.sample_every = config.sample_every;
    let stage = Forwarding::new(Arc::clone(&sink), config.topics.clone(), Arc::clone(&stats));
    Pump::new(pump_config, source, sink, stage)
        .with_events(stats)
        .run(stop)
        .await
}
