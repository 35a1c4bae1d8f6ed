//! Counters of the storage service, shared with whoever reports them (metrics, gRPC).

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

use tickmesh_domain::UtcMicros;

use crate::WriteSummary;

/// Live counters, updated by [`run`](crate::run) and read with [`StorageStats::snapshot`].
#[derive(Debug, Default)]
pub struct StorageStats {
    batches: AtomicU64,
    events_written: AtomicU64,
    trades_inserted: AtomicU64,
    trades_duplicate: AtomicU64,
    dlq: AtomicU64,
    db_errors: AtomicU64,
    bus_errors: AtomicU64,
    /// Epoch microseconds of the last commit; 0 before the first.
    last_commit_us: AtomicI64,
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
    /// Records sent to the dead-letter topic.
    pub dlq: u64,
    /// Failed database writes (each retried).
    pub db_errors: u64,
    /// Failed log operations: polls, acknowledgements, dead-letter appends (each retried).
    pub bus_errors: u64,
    /// When the last batch committed.
    pub last_commit: Option<UtcMicros>,
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
            dlq: get(&self.dlq),
            db_errors: get(&self.db_errors),
            bus_errors: get(&self.bus_errors),
            last_commit: (last != 0).then_some(UtcMicros(last)),
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
        self.last_commit_us
            .store(UtcMicros::now().as_micros(), Ordering::Relaxed);
    }

    pub(crate) fn dead_lettered(&self, records: usize) {
        self.dlq.fetch_add(
            u64::try_from(records).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
    }

    pub(crate) fn db_error(&self) {
        self.db_errors.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn bus_error(&self) {
        self.bus_errors.fetch_add(1, Ordering::Relaxed);
    }
}
