//! Counters of the storage service, shared with whoever reports them (metrics, gRPC).

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tickmesh_bus::BusError;
use tickmesh_bus::pump::{PumpEvents, WriteError};

use tickmesh_domain::UtcMicros;

use crate::WriteSummary;

/// Upper bounds, in seconds, of the batch latency buckets (a last, unbounded bucket follows).
pub const BATCH_SECONDS_BOUNDS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];

/// Live counters, updated by [`run`](crate::run) and read with [`StorageStats::snapshot`].
#[derive(Debug, Default)]
pub struct StorageStats {
    batches: AtomicU64,
    events_written: AtomicU64,
    trades_inserted: AtomicU64,
    trades_duplicate: AtomicU64,
    tickers_sampled_out: AtomicU64,
    dlq: AtomicU64,
    db_errors: AtomicU64,
    bus_errors: AtomicU64,
    /// Epoch microseconds of the last commit; 0 before the first.
    last_commit_us: AtomicI64,
    /// Batches by write+ack duration, one slot per [`BATCH_SECONDS_BOUNDS`] entry plus one.
    batch_buckets: [AtomicU64; BATCH_SECONDS_BOUNDS.len() + 1],
    /// Total write+ack duration, µs.
    batch_micros: AtomicU64,
}

/// The counters at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StorageStatsSnapshot {
    /// Batches committed.
    pub batches: u64,
    /// Valid events in committed batches (stored, deduplicated or throttled).
    pub events_written: u64,
    /// Trades stored for the first time.
    pub trades_inserted: u64,
    /// Trades that were already stored (replays).
    pub trades_duplicate: u64,
    /// Ticker updates left out by sampling.
    pub tickers_sampled_out: u64,
    /// Records sent to the dead-letter topic.
    pub dlq: u64,
    /// Failed database writes (each retried).
    pub db_errors: u64,
    /// Failed log operations: polls, acknowledgements, dead-letter appends (each retried).
    pub bus_errors: u64,
    /// When the last batch committed.
    pub last_commit: Option<UtcMicros>,
    /// Acknowledged batches by write+ack duration: one count per [`BATCH_SECONDS_BOUNDS`]
    /// bucket, then the batches slower than the last bound (not cumulative).
    pub batch_buckets: [u64; BATCH_SECONDS_BOUNDS.len() + 1],
    /// Total write+ack duration of those batches, µs.
    pub batch_micros: u64,
}

impl StorageStats {
    /// Fresh counters.
    pub fn new() -> StorageStats {
        StorageStats::default()
    }

    /// Reads every counter. Counters are independent, so one snapshot may straddle a batch.
    pub fn snapshot(&self) -> StorageStatsSnapshot {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        let last = self.last_commit_us.load(Ordering::Relaxed);
        StorageStatsSnapshot {
            batches: get(&self.batches),
            events_written: get(&self.events_written),
            trades_inserted: get(&self.trades_inserted),
            trades_duplicate: get(&self.trades_duplicate),
            tickers_sampled_out: get(&self.tickers_sampled_out),
            dlq: get(&self.dlq),
            db_errors: get(&self.db_errors),
            bus_errors: get(&self.bus_errors),
            last_commit: (last != 0).then_some(UtcMicros(last)),
            batch_buckets: std::array::from_fn(|i| get(&self.batch_buckets[i])),
            batch_micros: get(&self.batch_micros),
        }
    }

    pub(crate) fn committed(&self, events: usize, summary: &WriteSummary) {
        let add = |c: &AtomicU64, n: usize| {
            c.fetch_add(u64::try_from(n).unwrap_or(u64::MAX), Ordering::Relaxed);
        };
        add(&self.batches, 1);
        add(&self.events_written, events);
        add(&self.trades_inserted, summary.trades_inserted);
        add(&self.trades_duplicate, summary.trades_duplicate);
        add(&self.tickers_sampled_out, summary.tickers_sampled_out);
        self.last_commit_us
            .store(UtcMicros::now().as_micros(), Ordering::Relaxed);
    }

    /// Records how long a batch took from the start of its write to its acknowledgement.
    pub(crate) fn batch_took(&self, took: Duration) {
        let seconds = took.as_secs_f64();
        let slot = BATCH_SECONDS_BOUNDS
            .iter()
            .position(|bound| seconds <= *bound)
            .unwrap_or(BATCH_SECONDS_BOUNDS.len());
        self.batch_buckets[slot].fetch_add(1, Ordering::Relaxed);
        self.batch_micros.fetch_add(
            u64::try_from(took.as_micros()).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
    }

    /// Order books left out unexamined because the throttle was certain to drop them: handled
    /// events, like the ones written.
    pub(crate) fn books_skipped(&self, books: usize) {
        self.events_written
            .fetch_add(u64::try_from(books).unwrap_or(u64::MAX), Ordering::Relaxed);
    }
}

impl PumpEvents for StorageStats {
    fn source_failed(&self, _error: &BusError) {
        self.bus_errors.fetch_add(1, Ordering::Relaxed);
    }

    fn write_failed(&self, _error: &WriteError) {
        self.db_errors.fetch_add(1, Ordering::Relaxed);
    }

    fn dead_lettered(&self, records: usize) {
        self.dlq.fetch_add(
            u64::try_from(records).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
    }

    fn settled(&self, _records: usize, write_started: Instant) {
        self.batch_took(write_started.elapsed());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_durations_land_in_their_buckets() {
        let stats = StorageStats::new();
        stats.batch_took(Duration::from_micros(500));
        stats.batch_took(Duration::from_millis(30));
        stats.batch_took(Duration::from_secs(60));
        let snap = stats.snapshot();
        assert_eq!(snap.batch_buckets[0], 1);
        assert_eq!(snap.batch_buckets[5], 1);
        assert_eq!(snap.batch_buckets[BATCH_SECONDS_BOUNDS.len()], 1);
        assert_eq!(snap.batch_buckets.iter().sum::<u64>(), 3);
        assert_eq!(snap.batch_micros, 500 + 30_000 + 60_000_000);
    }
}
