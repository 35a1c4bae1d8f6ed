//! What the publisher has done, readable while it runs (for `IngestionService.ListFeeds`,
//! metrics and tests).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// Counters of the publisher, updated lock-free.
#[derive(Debug, Default)]
pub struct PublisherStats {
    published: AtomicU64,
    batches: AtomicU64,
    failures: AtomicU64,
    dropped: AtomicU64,
    buffered: AtomicU64,
    buffered_peak: AtomicU64,
    gaps: AtomicU64,
    bus_down: AtomicBool,
    fenced_off: AtomicU64,
    /// Feed outputs taken from the input channel.
    received: AtomicU64,
}

/// A copy of [`PublisherStats`] at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PublisherSnapshot {
    /// Events the bus confirmed.
    pub published: u64,
    /// Batches the bus confirmed.
    pub batches: u64,
    /// Publish attempts that failed (each is retried).
    pub failures: u64,
    /// Events lost to the overflow policy.
    pub dropped: u64,
    /// Events waiting or in flight now.
    pub buffered: u64,
    /// The most events ever waiting at once.
    pub buffered_peak: u64,
    /// Feed gaps reported (reconnects after an outage).
    pub gaps: u64,
    /// Whether the last publish attempt failed.
    pub bus_down: bool,
    /// Events not published because their unit's lease had passed to another replica.
    pub fenced_off: u64,
}

impl PublisherStats {
    /// A copy of the counters.
    pub fn snapshot(&self) -> PublisherSnapshot {
        PublisherSnapshot {
            published: self.published.load(Ordering::Relaxed),
            batches: self.batches.load(Ordering::Relaxed),
            failures: self.failures.load(Ordering::Relaxed),
            dropped: self.dropped.load(Ordering::Relaxed),
            buffered: self.buffered.load(Ordering::Relaxed),
            buffered_peak: self.buffered_peak.load(Ordering::Relaxed),
            gaps: self.gaps.load(Ordering::Relaxed),
            bus_down: self.bus_down.load(Ordering::Relaxed),
            fenced_off: self.fenced_off.load(Ordering::Relaxed),
        }
    }

    /// Outputs taken from the feeds' channel so far, in the channel's order.
    pub fn received_so_far(&self) -> u64 {
        self.received.load(Ordering::Acquire)
    }

    pub(crate) fn received(&self) {
        self.received.fetch_add(1, Ordering::Release);
    }

    pub(crate) fn fenced_off(&self, events: usize) {
        self.fenced_off.fetch_add(events as u64, Ordering::Relaxed);
    }

    pub(crate) fn published(&self, events: usize) {
        self.published.fetch_add(events as u64, Ordering::Relaxed);
        self.batches.fetch_add(1, Ordering::Relaxed);
        self.bus_down.store(false, Ordering::Relaxed);
    }

    pub(crate) fn failed(&self) {
        self.failures.fetch_add(1, Ordering::Relaxed);
        self.bus_down.store(true, Ordering::Relaxed);
    }

    pub(crate) fn dropped(&self) {
        self.dropped.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn gap(&self) {
        self.gaps.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn buffered(&self, now: usize) {
        let now = now as u64;
        self.buffered.store(now, Ordering::Relaxed);
        self.buffered_peak.fetch_max(now, Ordering::Relaxed);
    }
}
