//! The bridge's figures for `BridgeService.GetStats` and metrics: lag, throughput, pending.

use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};

/// Counters and gauges of a running bridge, updated lock-free.
#[derive(Debug, Default)]
pub struct BridgeStats {
    forwarded: AtomicU64,
    batches: AtomicU64,
    dead_letters: AtomicU64,
    sink_failures: AtomicU64,
    source_failures: AtomicU64,
    in_flight: AtomicU64,
    lag: AtomicI64,
    pending: AtomicI64,
    rate: AtomicU64,
    reclaimed: AtomicU64,
    age_us: AtomicI64,
    sink_down: AtomicBool,
}

/// A copy of [`BridgeStats`] at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BridgeSnapshot {
    /// Entries the sink confirmed and the stream acknowledged.
    pub forwarded: u64,
    /// Batches forwarded.
    pub batches: u64,
    /// Entries sent to the dead-letter topic (included in `forwarded`).
    pub dead_letters: u64,
    /// Failed attempts to write to the sink (each batch is retried until it succeeds).
    pub sink_failures: u64,
    /// Failed reads or acknowledgements on the stream.
    pub source_failures: u64,
    /// Entries read and not yet forwarded (confirmed by the sink and acknowledged on the
    /// stream): at most two batches, the one being written and the one read ahead.
    pub in_flight: u64,
    /// Entries in the stream not yet read by the group (`None` when the backend cannot say).
    pub lag: Option<u64>,
    /// Entries read by the group and not yet acknowledged, across members.
    pub pending: Option<u64>,
    /// Entries this bridge took over from members that died with them unacknowledged.
    pub reclaimed: u64,
    /// Entries forwarded per second, over the last second sampled.
    pub per_second: u64,
    /// Age of the oldest event of the last forwarded batch at the time it was confirmed, µs:
    /// how far behind real time the hand-off runs.
    pub age_us: i64,
    /// Whether the last write to the sink failed.
    pub sink_down: bool,
}

fn gauge(value: i64) -> Option<u64> {
    u64::try_from(value).ok()
}

impl BridgeStats {
    /// A stats block whose backlog is unknown until first sampled.
    pub fn new() -> BridgeStats {
        let stats = BridgeStats::default();
        stats.lag.store(-1, Ordering::Relaxed);
        stats.pending.store(-1, Ordering::Relaxed);
        stats
    }

    /// A copy of the figures.
    pub fn snapshot(&self) -> BridgeSnapshot {
        BridgeSnapshot {
            forwarded: self.forwarded.load(Ordering::Relaxed),
            batches: self.batches.load(Ordering::Relaxed),
            dead_letters: self.dead_letters.load(Ordering::Relaxed),
            sink_failures: self.sink_failures.load(Ordering::Relaxed),
            source_failures: self.source_failures.load(Ordering::Relaxed),
            in_flight: self.in_flight.load(Ordering::Relaxed),
            lag: gauge(self.lag.load(Ordering::Relaxed)),
            pending: gauge(self.pending.load(Ordering::Relaxed)),
            reclaimed: self.reclaimed.load(Ordering::Relaxed),
            per_second: self.rate.load(Ordering::Relaxed),
            age_us: self.age_us.load(Ordering::Relaxed),
            sink_down: self.sink_down.load(Ordering::Relaxed),
        }
    }

    pub(crate) fn reading(&self, n: usize) {
        self.in_flight.fetch_add(n as u64, Ordering::Relaxed);
    }

    pub(crate) fn forwarded(&self, n: usize, dead_letters: usize, age_us: Option<i64>) {
        self.forwarded.fetch_add(n as u64, Ordering::Relaxed);
        self.dead_letters
            .fetch_add(dead_letters as u64, Ordering::Relaxed);
        self.batches.fetch_add(1, Ordering::Relaxed);
        self.in_flight.fetch_sub(n as u64, Ordering::Relaxed);
        self.sink_down.store(false, Ordering::Relaxed);
        if let Some(age) = age_us {
            self.age_us.store(age, Ordering::Relaxed);
        }
    }

    pub(crate) fn sink_failed(&self) {
        self.sink_failures.fetch_add(1, Ordering::Relaxed);
        self.sink_down.store(true, Ordering::Relaxed);
    }

    pub(crate) fn source_failed(&self) {
        self.source_failures.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn backlog(&self, lag: Option<u64>, pending: Option<u64>, reclaimed: u64) {
        self.reclaimed.store(reclaimed, Ordering::Relaxed);
        let signed = |v: Option<u64>| v.and_then(|v| i64::try_from(v).ok()).unwrap_or(-1);
        self.lag.store(signed(lag), Ordering::Relaxed);
        self.pending.store(signed(pending), Ordering::Relaxed);
    }

    pub(crate) fn rate(&self, per_second: u64) {
        self.rate.store(per_second, Ordering::Relaxed);
    }
}
