//! The bridge's figures for `BridgeService.GetStats` and metrics: lag, throughput, pending.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::time::Instant;

use tickmesh_bus::pump::{PumpEvents, WriteError};
use tickmesh_bus::{Backlog, BusError};

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
    trimmed: AtomicU64,
    /// When the rate was last computed, and `forwarded` then.
    rate_base: Mutex<Option<(Instant, u64)>>,
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
    /// Stream entries trimmed before the group read (or finished) them, as this bridge found
    /// them: lost for good.
    pub trimmed: u64,
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
            trimmed: self.trimmed.load(Ordering::Relaxed),
        }
    }

    /// The oldest event of a write the sink just confirmed was received `age_us` ago.
    pub(crate) fn confirmed(&self, age_us: i64) {
        self.age_us.store(age_us, Ordering::Relaxed);
        self.sink_down.store(false, Ordering::Relaxed);
    }
}

impl PumpEvents for BridgeStats {
    fn read(&self, n: usize) {
        self.in_flight.fetch_add(n as u64, Ordering::Relaxed);
    }

    fn source_failed(&self, _error: &BusError) {
        self.source_failures.fetch_add(1, Ordering::Relaxed);
    }

    fn write_failed(&self, _error: &WriteError) {
        self.sink_failures.fetch_add(1, Ordering::Relaxed);
        self.sink_down.store(true, Ordering::Relaxed);
    }

    fn dead_lettered(&self, n: usize) {
        self.dead_letters.fetch_add(n as u64, Ordering::Relaxed);
    }

    fn trimmed(&self, n: u64) {
        self.trimmed.fetch_add(n, Ordering::Relaxed);
    }

    fn backlog(&self, backlog: &Backlog) {
        self.reclaimed.store(backlog.reclaimed, Ordering::Relaxed);
        let signed = |v: Option<u64>| v.and_then(|v| i64::try_from(v).ok()).unwrap_or(-1);
        self.lag.store(signed(backlog.lag), Ordering::Relaxed);
        self.pending
            .store(signed(backlog.pending), Ordering::Relaxed);
        let forwarded = self.forwarded.load(Ordering::Relaxed);
        let now = Instant::now();
        let mut base = self
            .rate_base
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some((at, count)) = *base {
            let elapsed = now.duration_since(at).as_secs_f64();
            if elapsed > 0.0 {
                let per_second = forwarded.saturating_sub(count) as f64 / elapsed;
                self.rate
                    .store(per_second.round() as u64, Ordering::Relaxed);
            }
        }
        *base = Some((now, forwarded));
    }

    fn settled(&self, n: usize, _write_started: Instant) {
        self.forwarded.fetch_add(n as u64, Ordering::Relaxed);
        self.batches.fetch_add(1, Ordering::Relaxed);
        self.in_flight.fetch_sub(n as u64, Ordering::Relaxed);
    }
}
