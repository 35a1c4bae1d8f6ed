//! The producer, and the thread of ours that serves its delivery reports.
//!
//! rdkafka's `ThreadedProducer` polls with a 100 ms timeout in a loop, and `BaseProducer::poll`
//! loops until its deadline passes, handing librdkafka the time left truncated to whole
//! milliseconds. So every call waits 99 ms, then polls with a timeout of 0 ms, busily, through
//! the last millisecond: one per cent of a core per producer, all the time, even with nothing
//! to report (storage's dead-letter producer, idle, was an eighth of storage's CPU under
//! `tickmesh bench` at 20,000 events/s; docs/benchmarks.md). Here each poll is given a second,
//! so that last millisecond is a thousandth of the time. The timeout bounds nothing else: a
//! delivery report wakes the poll at once, however long it was given.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use rdkafka::ClientConfig;
use rdkafka::config::FromClientConfigAndContext as _;
use rdkafka::error::KafkaResult;
use rdkafka::producer::BaseProducer;

use crate::produce::BatchContext;

/// How long one poll may wait for a delivery report; also how long the thread may outlive its
/// producer's last handle.
const POLL_TIMEOUT: Duration = Duration::from_secs(1);

/// The name of the polling thread, as `/proc` shows it.
pub(crate) const THREAD_NAME: &str = "kafka-reports";

/// A producer whose delivery reports a thread of its own serves while any clone is alive.
#[derive(Clone)]
pub(crate) struct PolledProducer {
    handle: Arc<Handle>,
}

/// Stops the thread when the last clone goes.
struct Handle {
    producer: Arc<BaseProducer<BatchContext>>,
    stop: Arc<AtomicBool>,
}

impl Drop for Handle {
    fn drop(&mut self) {
        // The thread sees it within `POLL_TIMEOUT` and drops its own reference last, so
        // librdkafka's teardown (a purge and a short flush) runs there, not in the caller.
        // Every `append` waited for its reports, so nothing of ours is still in flight.
        self.stop.store(true, Ordering::Release);
    }
}

impl PolledProducer {
    /// The producer of `config`, with its polling thread started.
    pub(crate) fn new(config: &ClientConfig) -> KafkaResult<PolledProducer> {
        PolledProducer::with_thread(config, THREAD_NAME)
    }

    /// As [`PolledProducer::new`], the thread named `thread`.
    fn with_thread(config: &ClientConfig, thread: &str) -> KafkaResult<PolledProducer> {
        let producer = Arc::new(BaseProducer::from_config_and_context(config, BatchContext)?);
        let stop = Arc::new(AtomicBool::new(false));
        let polled = Arc::clone(&producer);
        let stopped = Arc::clone(&stop);
        std::thread::Builder::new()
            .name(thread.to_owned())
            .spawn(move || {
                while !stopped.load(Ordering::Acquire) {
                    polled.poll(POLL_TIMEOUT);
                }
            })
            .map_err(|e| {
                rdkafka::error::KafkaError::ClientCreation(format!(
                    "cannot start the producer's polling thread: {e}"
                ))
            })?;
        Ok(PolledProducer {
            handle: Arc::new(Handle { producer, stop }),
        })
    }

    /// The producer, to send through.
    pub(crate) fn producer(&self) -> &BaseProducer<BatchContext> {
        &self.handle.producer
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    /// The names of this process's threads.
    fn threads() -> Vec<String> {
        std::fs::read_dir("/proc/self/task")
            .unwrap()
            .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
            .map(|name| name.trim().to_owned())
            .collect()
    }

    /// A name no other test's thread has, so tests running beside this one do not count.
    const NAME: &str = "kafka-test-end";

    fn polling_threads() -> usize {
        threads().iter().filter(|n| *n == NAME).count()
    }

    #[test]
    fn the_polling_thread_ends_once_the_last_clone_is_gone() {
        let mut config = ClientConfig::new();
        config.set("bootstrap.servers", "127.0.0.1:1");
        // Waits (up to five poll timeouts) until `n` polling threads are there.
        let settles_at = |n: usize| {
            let deadline = std::time::Instant::now() + POLL_TIMEOUT * 5;
            while polling_threads() != n && std::time::Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
            polling_threads()
        };
        let producer = PolledProducer::with_thread(&config, NAME).unwrap();
        let clone = producer.clone();
        // The thread names itself once it runs.
        assert_eq!(settles_at(1), 1);
        drop(producer);
        std::thread::sleep(POLL_TIMEOUT * 2);
        assert_eq!(polling_threads(), 1, "a clone is still alive");
        drop(clone);
        assert_eq!(settles_at(0), 0, "the polling thread outlived its producer");
    }
}
