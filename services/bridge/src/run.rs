//! The bridge loop: read a batch, route it, write it to the sink, acknowledge it.

use std::sync::Arc;
use std::time::Duration;

use tickmesh_bus::{BusError, Delivery, DurableLog, LogConsumer};
use tickmesh_domain::UtcMicros;
use tickmesh_feeds::{Backoff, BackoffConfig};
use tickmesh_proto::routing::{self, TopicNames};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tracing::{Instrument as _, info, warn};

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
            batch_max: 1_000,
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
pub async fn run_bridge(
    source: Arc<dyn DurableLog>,
    sink: Arc<dyn DurableLog>,
    config: BridgeConfig,
    stats: Arc<BridgeStats>,
    shutdown: CancellationToken,
) -> Result<(), BusError> {
    let mut backoff = Backoff::new(config.retry, u64::from(std::process::id()));
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
    backoff.reset();
    let mut sampler = Sampler::new(config.sample_every);
    while !shutdown.is_cancelled() {
        sampler.tick(consumer.as_mut(), &stats).await;
        let batch = tokio::select! {
            () = shutdown.cancelled() => break,
            batch = consumer.poll(config.batch_max, config.poll_wait) => batch,
        };
        let batch = match batch {
            Ok(batch) => batch,
            Err(e) => {
                stats.source_failed();
                warn!(error = %e, "reading the stream failed; retrying");
                if pause(&mut backoff, &shutdown).await.is_err() {
                    break;
                }
                continue;
            }
        };
        backoff.reset();
        if batch.is_empty() {
            continue;
        }
        stats.reading(batch.len());
        let span = tracing::info_span!("bridge.forward", entries = batch.len());
        if let Some(parent) = batch
            .first()
            .and_then(|d| d.record.header(tickmesh_bus::TRACEPARENT))
            .and_then(|v| std::str::from_utf8(v).ok())
        {
            tickmesh_telemetry::propagation::adopt_traceparent(&span, parent);
        }
        if forward(
            consumer.as_mut(),
            sink.as_ref(),
            &batch,
            &stats,
            &config,
            &shutdown,
        )
        .instrument(span)
        .await
        .is_err()
        {
            info!(
                entries = batch.len(),
                "stopping with a batch unconfirmed; it stays pending for the next bridge"
            );
            break;
        }
    }
    Ok(())
}

/// Writes the routed batch to the sink, then acknowledges it; retries each step until it
/// succeeds or shutdown (`Err(())`).
async fn forward(
    consumer: &mut dyn LogConsumer,
    sink: &dyn DurableLog,
    batch: &[Delivery],
    stats: &BridgeStats,
    config: &BridgeConfig,
    shutdown: &CancellationToken,
) -> Result<(), ()> {
    let Routed {
        topics,
        dead_letters,
        oldest_received_us,
    } = route(batch, &config.topics);
    let mut backoff = Backoff::new(config.retry, u64::from(std::process::id()));
    // All topics at once: each append waits for the producer's linger and the broker's
    // acknowledgement, which in sequence would add up per topic. Topics already confirmed
    // are not written again when another fails.
    let mut remaining: Vec<_> = topics.into_iter().collect();
    while !remaining.is_empty() {
        let results = futures::future::join_all(
            remaining
                .iter()
                .map(|(topic, records)| sink.append(topic, records)),
        )
        .await;
        let mut failed = None;
        let mut unconfirmed = Vec::new();
        for ((topic, records), result) in remaining.into_iter().zip(results) {
            if let Err(e) = result {
                failed.get_or_insert_with(|| (topic.clone(), e));
                unconfirmed.push((topic, records));
            }
        }
        remaining = unconfirmed;
        match failed {
            None => backoff.reset(),
            Some((topic, e)) => {
                stats.sink_failed();
                warn!(topic, error = %e, "the sink did not confirm; retrying the batch");
                pause(&mut backoff, shutdown).await?;
            }
        }
    }
    loop {
        match consumer.ack(batch).await {
            Ok(()) => break,
            Err(e) => {
                // Written but not acknowledged: retrying the ack is cheap; if we stop now the
                // entries are sent again by the next bridge and storage drops the repeats.
                stats.source_failed();
                warn!(error = %e, "acknowledging the stream failed; retrying");
                pause(&mut backoff, shutdown).await?;
            }
        }
    }
    let age = oldest_received_us.map(|oldest| UtcMicros::now().as_micros() - oldest);
    stats.forwarded(batch.len(), dead_letters, age);
    Ok(())
}

/// Waits the next backoff delay; `Err(())` when shutdown came first.
async fn pause(backoff: &mut Backoff, shutdown: &CancellationToken) -> Result<(), ()> {
    tokio::select! {
        () = shutdown.cancelled() => Err(()),
        () = tokio::time::sleep(backoff.next_delay()) => Ok(()),
    }
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
