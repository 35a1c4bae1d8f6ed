//! The steps of one batch, each retried with backoff until it succeeds or shutdown comes:
//! read from the stream, write to the sink, acknowledge on the stream.

use tickmesh_bus::{Delivery, DurableLog, LogConsumer, Record};
use tickmesh_domain::UtcMicros;
use tickmesh_feeds::{Backoff, BackoffConfig};
use tokio_util::sync::CancellationToken;
use tracing::warn;

use crate::run::BridgeConfig;
use crate::stats::BridgeStats;

/// A batch the sink confirmed, waiting for its acknowledgement on the stream.
#[derive(Debug)]
pub(crate) struct Written {
    pub(crate) batch: Vec<Delivery>,
    pub(crate) dead_letters: usize,
    pub(crate) oldest_received_us: Option<i64>,
}

/// The next entries (empty when none came within `poll_wait`); `None` when shutdown came first.
pub(crate) async fn read(
    consumer: &mut dyn LogConsumer,
    config: &BridgeConfig,
    stats: &BridgeStats,
    shutdown: &CancellationToken,
) -> Option<Vec<Delivery>> {
    let mut backoff = backoff(config.retry);
    loop {
        let batch = tokio::select! {
            () = shutdown.cancelled() => return None,
            batch = consumer.poll(config.batch_max, config.poll_wait) => batch,
        };
        match batch {
            Ok(batch) => {
                stats.reading(batch.len());
                return Some(batch);
            }
            Err(e) => {
                stats.source_failed();
                warn!(error = %e, "reading the stream failed; retrying");
                pause(&mut backoff, shutdown).await.ok()?;
            }
        }
    }
}

/// Appends every topic's records until the sink confirmed them all; `Err(())` on shutdown.
pub(crate) async fn write(
    sink: &dyn DurableLog,
    topics: Vec<(String, Vec<Record>)>,
    retry: BackoffConfig,
    stats: &BridgeStats,
    shutdown: &CancellationToken,
) -> Result<(), ()> {
    let mut backoff = backoff(retry);
    // All topics at once: each append waits for the producer's linger and the broker's
    // acknowledgement, which in sequence would add up per topic. Topics already confirmed
    // are not written again when another fails.
    let mut remaining = topics;
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
        if let Some((topic, e)) = failed {
            stats.sink_failed();
            warn!(topic, error = %e, "the sink did not confirm; retrying the batch");
            pause(&mut backoff, shutdown).await?;
        }
    }
    Ok(())
}

/// Acknowledges the written batch, if any, and counts it forwarded; `Err(())` on shutdown
/// (the batch stays in `written`).
pub(crate) async fn settle(
    consumer: &mut dyn LogConsumer,
    written: &mut Option<Written>,
    retry: BackoffConfig,
    stats: &BridgeStats,
    shutdown: &CancellationToken,
) -> Result<(), ()> {
    let Some(done) = written.as_ref() else {
        return Ok(());
    };
    let mut backoff = backoff(retry);
    while let Err(e) = consumer.ack(&done.batch).await {
        // Written but not acknowledged: retrying the ack is cheap; if we stop now the entries
        // are sent again by the next bridge and storage drops the repeats.
        stats.source_failed();
        warn!(error = %e, "acknowledging the stream failed; retrying");
        pause(&mut backoff, shutdown).await?;
    }
    let age = done
        .oldest_received_us
        .map(|oldest| UtcMicros::now().as_micros() - oldest);
    stats.forwarded(done.batch.len(), done.dead_letters, age);
    *written = None;
    Ok(())
}

/// Backoff between attempts, jittered by the process id so bridges do not retry in step.
pub(crate) fn backoff(retry: BackoffConfig) -> Backoff {
    Backoff::new(retry, u64::from(std::process::id()))
}

/// Waits the next backoff delay; `Err(())` when shutdown came first.
pub(crate) async fn pause(backoff: &mut Backoff, shutdown: &CancellationToken) -> Result<(), ()> {
    tokio::select! {
        () = shutdown.cancelled() => Err(()),
        () = tokio::time::sleep(backoff.next_delay()) => Ok(()),
    }
}
