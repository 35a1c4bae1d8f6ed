//! The bridge loop: read a batch, route it, write it to the sink, acknowledge it, with the
//! stream and the sink working at the same time.

use std::sync::Arc;
use std::time::Duration;

use tickmesh_bus::{BusError, Delivery, DurableLog, LogConsumer};
use tickmesh_feeds::BackoffConfig;
use tickmesh_proto::routing::{self, TopicNames};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tracing::{Instrument as _, info, warn};

use crate::forward::{self, Written, pause, settle};
use crate::route::{Routed, route};
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
    pub retry: BackoffConfig,
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
            // With one batch in the sink at a time, throughput is at most batch_max per
            // producer linger plus acknowledgement (20 ms and a few): 1,000 capped the bridge
            // near 40,000 events/s; 5,000 leaves room over 50,000.
            batch_max: 5_000,
            poll_wait: Duration::from_millis(200),
            retry: BackoffConfig {
                initial: Duration::from_millis(100),
                max: Duration::from_secs(5),
            },
            sample_every: Duration::from_secs(1),
            topics: TopicNames::default(),
        }
    }
}

/// Runs the bridge until `shutdown`. A batch read is finished (written and acknowledged)
/// before stopping if the sink allows; otherwise it stays pending in the stream and the next
/// bridge with this consumer name sends it.
///
/// The stream and the sink work at the same time: while one batch is written to the sink,
/// the previous (confirmed) batch is acknowledged and the next is read. `tickmesh bench`
/// found the serial loop (read, write, acknowledge, each waiting on the one before) falling
/// behind at 50,000 events/s on a busy 2-core machine with both processes mostly idle. At
/// most one batch is read ahead, the sink sees batches in stream order, and
/// acknowledgements stay in delivery order.
pub async fn run_bridge(
    source: Arc<dyn DurableLog>,
    sink: Arc<dyn DurableLog>,
    config: BridgeConfig,
    stats: Arc<BridgeStats>,
    shutdown: CancellationToken,
) -> Result<(), BusError> {
    let mut backoff = forward::backoff(config.retry);
    let mut consumer = loop {
        match source
            .consume(&[config.stream.as_str()], &config.group, &config.consumer)
            .await
        {
            Ok(consumer) => break consumer,
            Err(e) if e.is_retryable() => {
                stats.source_failed();
                warn!(error = %e, "cannot join the stream's consumer group yet; retrying");
                if pause(&mut backoff, &shutdown).await.is_err() {
                    return Ok(());
                }
            }
            Err(e) => return Err(e),
        }
    };
    info!(stream = %config.stream, group = %config.group, consumer = %config.consumer, "bridge reading");
    let mut sampler = Sampler::new(config.sample_every);
    let mut written: Option<Written> = None;
    let mut ahead: Vec<Delivery> = Vec::new();
    while !shutdown.is_cancelled() {
        sampler.tick(consumer.as_mut(), &stats).await;
        if ahead.is_empty() {
            // Nothing came during the last write: acknowledge it before waiting for more.
            if settle(
                consumer.as_mut(),
                &mut written,
                config.retry,
                &stats,
                &shutdown,
            )
            .await
            .is_err()
            {
                break;
            }
            match forward::read(consumer.as_mut(), &config, &stats, &shutdown).await {
                Some(batch) => ahead = batch,
                None => break,
            }
            if ahead.is_empty() {
                continue;
            }
        }
        let mut batch = std::mem::take(&mut ahead);
        let span = tracing::info_span!("bridge.forward", entries = batch.len());
        if let Some(parent) = batch.first().and_then(|d| d.record.traceparent()) {
            tickmesh_telemetry::propagation::adopt_traceparent(&span, parent);
        }
        // From here `batch` holds what acknowledging needs; the records moved into `topics`.
        let Routed {
            topics,
            dead_letters,
            oldest_received_us,
        } = route(&mut batch, &config.topics);
        let topics = topics.into_iter().collect();
        let (sent, next) = tokio::join!(
            forward::write(sink.as_ref(), topics, config.retry, &stats, &shutdown).instrument(span),
            async {
                settle(
                    consumer.as_mut(),
                    &mut written,
                    config.retry,
                    &stats,
                    &shutdown,
                )
                .await?;
                Ok::<_, ()>(forward::read(consumer.as_mut(), &config, &stats, &shutdown).await)
            }
        );
        let Ok(next) = next else {
            // Shutdown while the previous batch waited for its acknowledgement.
            break;
        };
        if sent.is_err() {
            info!(
                entries = batch.len(),
                "stopping with a batch unconfirmed; it stays pending for the next bridge"
            );
            break;
        }
        written = Some(Written {
            batch,
            dead_letters,
            oldest_received_us,
        });
        match next {
            Some(batch) => ahead = batch,
            None => break,
        }
    }
    // The last confirmed batch is acknowledged if that can be done at once; otherwise the
    // next bridge sends it again and storage drops the repeats.
    let _ = settle(
        consumer.as_mut(),
        &mut written,
        config.retry,
        &stats,
        &shutdown,
    )
    .await;
    Ok(())
}

/// Samples the group's backlog and the throughput at most every `every`.
#[derive(Debug)]
struct Sampler {
    every: Duration,
    last: Option<(Instant, u64)>,
}

impl Sampler {
    fn new(every: Duration) -> Sampler {
        Sampler { every, last: None }
    }

    async fn tick(&mut self, consumer: &mut dyn LogConsumer, stats: &BridgeStats) {
        let now = Instant::now();
        let forwarded = stats.snapshot().forwarded;
        if let Some((at, count)) = self.last {
            let elapsed = now.duration_since(at);
            if elapsed < self.every {
                return;
            }
            let per_second = (forwarded - count) as f64 / elapsed.as_secs_f64();
            stats.rate(per_second.round() as u64);
        }
        self.last = Some((now, forwarded));
        match consumer.backlog().await {
            Ok(backlog) => stats.backlog(backlog.lag, backlog.pending, backlog.reclaimed),
            Err(e) => {
                stats.source_failed();
                warn!(error = %e, "cannot read the group's backlog");
            }
        }
    }
}
