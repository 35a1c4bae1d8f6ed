//! The consume loop the bridge and storage share: read a batch from a consumer group, write
//! it where it goes, and acknowledge it only after the write was confirmed.
//!
//! The source and the destination work at the same time: while one batch is written, the
//! previous (written) batch is acknowledged and the next is read and prepared. At most one
//! batch is read ahead, so memory stays bounded by two batches, the destination sees batches
//! in delivery order, and acknowledgements stay in delivery order.
//!
//! # Poison
//!
//! Nothing is retried forever and nothing is dropped silently:
//!
//! * a delivery the [`Stage`] cannot even prepare (undecodable, out of bounds) is sent to the
//!   dead-letter topic with the reason, before the batch is written;
//! * a write that fails with a [`WriteError::Permanent`] error is split in halves, and the
//!   halves written in order, until the records at fault are alone; each is dead-lettered
//!   with the error, and every other record is written;
//! * a write that keeps failing with a retryable error is split too, after
//!   [`PumpConfig::split_after`] attempts, which keeps the records in order: if the destination
//!   is down, the first part keeps failing and is retried with backoff until it is back. One
//!   record that keeps failing while a write after its previous failure succeeded (the part
//!   behind it is written first to find out) is at fault and is dead-lettered with the last
//!   error as the reason. Without such a success, as for a record last in its batch, it cannot
//!   be told from an outage and is retried; the adapters report errors that name a record as
//!   permanent, so this is the fallback, not the rule;
//! * a dead letter the dead-letter topic itself refuses for good (too large, say) is sent
//!   without its payload, with the payload's size in a header, so its key, cursor and reason
//!   still reach the topic.
//!
//! Retrying stops only for `stop`: what is not written then stays unacknowledged and is
//! delivered again to the next member under this name (idempotent writes absorb the repeats).

mod dead;
mod retry;
mod stage;
mod write;

#[cfg(test)]
mod tests;

use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

pub use dead::{DEAD_LETTER_REASON, DEAD_LETTER_SOURCE, PAYLOAD_DROPPED};
pub use retry::RetryPolicy;
pub use stage::{NoEvents, Prepared, PumpEvents, Stage, WriteError};

use self::retry::Backoff;
use crate::{BusError, Delivery, DurableLog, LogConsumer};

/// How a pump consumes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PumpConfig {
    /// The topics (or Redis streams) read.
    pub topics: Vec<String>,
    /// The consumer group.
    pub group: String,
    /// This member's name in the group; a member restarted under the same name first gets
    /// back what it had not acknowledged.
    pub consumer: String,
    /// Most deliveries per batch.
    pub batch_max: usize,
    /// How long one poll waits for the first delivery.
    pub poll_wait: Duration,
    /// How long to keep gathering after the first delivery before writing, unless
    /// `batch_max` is reached first (zero: write what the first poll returned).
    pub linger: Duration,
    /// Delays between attempts while the source or the destination fails.
    pub retry: RetryPolicy,
    /// Failed attempts of one write with retryable errors before it is split to look for a
    /// record at fault.
    pub split_after: u32,
    /// Where records that can never be written go.
    pub dead_letter_topic: String,
    /// How often the group's backlog is sampled (and stream trimming checked).
    pub sample_every: Duration,
}

impl PumpConfig {
    /// Defaults for reading `topics` as `consumer` of `group`, dead letters to `dead_letters`.
    pub fn new(
        topics: Vec<String>,
        group: impl Into<String>,
        consumer: impl Into<String>,
        dead_letters: impl Into<String>,
    ) -> PumpConfig {
        PumpConfig {
            topics,
            group: group.into(),
            consumer: consumer.into(),
            batch_max: 2_000,
            poll_wait: Duration::from_millis(200),
            linger: Duration::ZERO,
            retry: RetryPolicy::default(),
            split_after: 5,
            dead_letter_topic: dead_letters.into(),
            sample_every: Duration::from_secs(1),
        }
    }
}

/// How a running pump is told to stop.
#[derive(Debug, Clone, Default)]
pub struct PumpStop {
    /// Stop now: finish the write in hand if the destination allows, acknowledge what was
    /// written, and return; waits and retries end at once.
    pub now: CancellationToken,
    /// Stop once caught up: keep consuming until a poll finds nothing, then stop as for
    /// `now` (used to drain an in-process log at shutdown).
    pub when_drained: CancellationToken,
}

/// A consume loop over one [`Stage`].
pub struct Pump<S: Stage> {
    config: PumpConfig,
    source: Arc<dyn DurableLog>,
    dead_letters: Arc<dyn DurableLog>,
    stage: S,
    events: Arc<dyn PumpEvents>,
    /// Successful writes so far: evidence that the destination works when one record keeps
    /// failing with retryable errors.
    progress: AtomicU64,
}

impl<S: Stage> std::fmt::Debug for Pump<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pump")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// A batch read and prepared, waiting for its write.
struct Batch<I> {
    deliveries: Vec<Delivery>,
    prepared: Prepared<I>,
}

impl<S: Stage> Pump<S> {
    /// A pump reading `source` into `stage`, dead letters appended to `dead_letters`.
    pub fn new(
        config: PumpConfig,
        source: Arc<dyn DurableLog>,
        dead_letters: Arc<dyn DurableLog>,
        stage: S,
    ) -> Pump<S> {
        Pump {
            config,
            source,
            dead_letters,
            stage,
            events: Arc::new(NoEvents),
            progress: AtomicU64::new(0),
        }
    }

    /// Reports to `events`.
    #[must_use]
    pub fn with_events(mut self, events: Arc<dyn PumpEvents>) -> Pump<S> {
        self.events = events;
        self
    }

    /// The stage, for the service's own use.
    pub fn stage(&self) -> &S {
        &self.stage
    }

    /// Runs until `stop`. Returns an error only for what retrying cannot fix: the source
    /// refusing to let this member join or acknowledge.
    pub async fn run(self, stop: PumpStop) -> Result<(), BusError> {
        let topics: Vec<&str> = self.config.topics.iter().map(String::as_str).collect();
        let mut backoff = Backoff::new(self.config.retry);
        let mut consumer = loop {
            match self
                .source
                .consume(&topics, &self.config.group, &self.config.consumer)
                .await
            {
                Ok(consumer) => break consumer,
                Err(e) if e.is_retryable() => {
                    self.events.source_failed(&e);
                    warn!(error = %crate::error::chain(&e), "cannot join the consumer group yet; retrying");
                    if !backoff.pause(&stop.now).await {
                        return Ok(());
                    }
                }
                Err(e) => return Err(e),
            }
        };
        info!(topics = ?self.config.topics, group = %self.config.group, consumer = %self.config.consumer, "consuming");
        let mut sampler = Sampler::new(self.config.sample_every);
        // A written batch waiting for its acknowledgement, with when its write started.
        let mut written: Option<(Vec<Delivery>, Instant)> = None;
        let mut ahead: Option<Batch<S::Item>> = None;
        while !stop.now.is_cancelled() {
            sampler.tick(consumer.as_mut(), &*self.events).await;
            let batch = match ahead.take() {
                Some(batch) => batch,
                None => {
                    // Nothing came during the last write: acknowledge it before waiting.
                    self.settle(consumer.as_mut(), &mut written, &stop).await?;
                    match self.next(consumer.as_mut(), &stop).await? {
                        Next::Batch(batch) => batch,
                        Next::Empty => continue,
                        Next::Stop => break,
                    }
                }
            };
            let started = Instant::now();
            let Batch {
                deliveries,
                prepared,
            } = batch;
            let (done, next) =
                tokio::join!(self.write_batch(&deliveries, prepared, &stop), async {
                    self.settle(consumer.as_mut(), &mut written, &stop).await?;
                    self.next(consumer.as_mut(), &stop).await
                });
            let next = next?;
            if !done {
                info!(
                    deliveries = deliveries.len(),
                    "stopping with a batch not fully written; it stays unacknowledged"
                );
                break;
            }
            debug!(
                deliveries = deliveries.len(),
                took_ms = started.elapsed().as_millis(),
                "batch written"
            );
            written = Some((deliveries, started));
            match next {
                Next::Batch(batch) => ahead = Some(batch),
                Next::Empty => {}
                Next::Stop => break,
            }
        }
        // The last written batch is acknowledged if that can be done at once; otherwise it is
        // delivered again after a restart and the idempotent writes absorb it.
        let _ = self
            .settle(consumer.as_mut(), &mut written, &PumpStop::stopped())
            .await;
        info!(consumer = %self.config.consumer, "consumer stopped");
        Ok(())
    }

    /// Acknowledges the written batch, if any. An error only for a refusal; a stop leaves the
    /// batch in `written`.
    async fn settle(
        &self,
        consumer: &mut dyn LogConsumer,
        written: &mut Option<(Vec<Delivery>, Instant)>,
        stop: &PumpStop,
    ) -> Result<(), BusError> {
        let Some((batch, started)) = written.as_ref() else {
            return Ok(());
        };
        let mut backoff = Backoff::new(self.config.retry);
        loop {
            match consumer.ack(batch).await {
                Ok(()) => break,
                Err(e) if e.is_retryable() => {
                    self.events.source_failed(&e);
                    warn!(error = %crate::error::chain(&e), "acknowledging failed; retrying");
                    if !backoff.pause(&stop.now).await {
                        return Ok(());
                    }
                }
                Err(e) => return Err(e),
            }
        }
        self.events.settled(batch.len(), *started);
        *written = None;
        Ok(())
    }
}

impl PumpStop {
    /// A stop that has already been given: waits end at once.
    fn stopped() -> PumpStop {
        let stop = PumpStop::default();
        stop.now.cancel();
        stop
    }
}

/// What the read step produced.
enum Next<I> {
    /// A batch, prepared, its rejects dead-lettered.
    Batch(Batch<I>),
    /// Nothing came within the poll wait.
    Empty,
    /// Stop: asked to, or caught up after being asked to drain.
    Stop,
}

/// Samples the group's backlog at most every `every`.
struct Sampler {
    every: Duration,
    last: Option<Instant>,
    /// The consumer's trimmed count at the last sample.
    trimmed: u64,
}

impl Sampler {
    fn new(every: Duration) -> Sampler {
        Sampler {
            every,
            last: None,
            trimmed: 0,
        }
    }

    async fn tick(&mut self, consumer: &mut dyn LogConsumer, events: &dyn PumpEvents) {
        if self.last.is_some_and(|at| at.elapsed() < self.every) {
            return;
        }
        self.last = Some(Instant::now());
        match consumer.backlog().await {
            Ok(backlog) => {
                if backlog.trimmed > self.trimmed {
                    let lost = backlog.trimmed - self.trimmed;
                    warn!(
                        entries = lost,
                        "the source dropped entries before this group read them: they are lost; \
                         raise the source's retention (bus.stream_maxlen for the redis stream) \
                         or fix what keeps this consumer behind"
                    );
                    events.trimmed(lost);
                }
                self.trimmed = backlog.trimmed;
                events.backlog(&backlog);
            }
            Err(e) => {
                events.source_failed(&e);
                warn!(error = %crate::error::chain(&e), "cannot read the group's backlog");
            }
        }
    }
}
