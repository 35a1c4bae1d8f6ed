//! Live status of one exchange feed, shared between the feed task and whoever reports it
//! (`IngestionService.ListFeeds`, metrics).
//!
//! Counters are atomics so the hot path never takes a lock per frame; the rarely-changing
//! parts (state, markets, last disconnect reason) sit behind a mutex touched only on changes.

use std::collections::BTreeSet;
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

use tickmesh_domain::{Exchange, Market, RejectReason, UtcMicros};

/// Where a feed's connection is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeedState {
    /// Nothing is subscribed, so no socket is open.
    Idle,
    /// Opening the socket.
    Connecting,
    /// Connected and subscribed.
    Connected,
    /// Waiting before the next connection attempt.
    BackingOff,
}

/// A point-in-time copy of a feed's status.
#[derive(Debug, Clone, PartialEq)]
pub struct FeedSnapshot {
    /// The exchange.
    pub exchange: Exchange,
    /// Connection state.
    pub state: FeedState,
    /// Markets currently desired.
    pub markets: BTreeSet<Market>,
    /// Data frames received.
    pub messages: u64,
    /// Events emitted (a Korbit trade frame can hold several).
    pub events: u64,
    /// Frames that failed to parse and were skipped.
    pub parse_errors: u64,
    /// Connections re-established after the first.
    pub reconnects: u64,
    /// Outages reported as gaps.
    pub gaps: u64,
    /// Trades recovered from REST after reconnects.
    pub backfilled_trades: u64,
    /// Duplicate trades dropped.
    pub duplicates: u64,
    /// Frames and events refused at the edge, indexed by [`RejectReason::index`].
    pub rejected: [u64; RejectReason::ALL.len()],
    /// Receipt time of the last frame of any kind.
    pub last_message_time: Option<UtcMicros>,
    /// Events per second over the last minute.
    pub events_per_second: f64,
    /// Why the previous session ended.
    pub last_disconnect_reason: Option<String>,
}

impl FeedSnapshot {
    /// Frames and events refused at the edge for `reason`.
    pub fn rejected(&self, reason: RejectReason) -> u64 {
        self.rejected[reason.index()]
    }

    /// Frames and events refused at the edge, all reasons.
    pub fn rejected_total(&self) -> u64 {
        self.rejected.iter().sum()
    }
}

#[derive(Debug)]
struct Slow {
    state: FeedState,
    markets: BTreeSet<Market>,
    last_disconnect_reason: Option<String>,
}

/// Shared, updatable status of one feed.
#[derive(Debug)]
pub struct FeedStatus {
    exchange: Exchange,
    messages: AtomicU64,
    events: AtomicU64,
    parse_errors: AtomicU64,
    reconnects: AtomicU64,
    gaps: AtomicU64,
    backfilled: AtomicU64,
    duplicates: AtomicU64,
    rejected: [AtomicU64; RejectReason::ALL.len()],
    last_message_micros: AtomicI64,
    /// Events per second for the last 60 seconds, indexed by epoch second modulo 60; each
    /// slot stores (second << 32 | count) so stale slots are recognised without a sweep.
    per_second: [AtomicU64; 60],
    slow: Mutex<Slow>,
}

impl FeedStatus {
    /// Creates an idle status for `exchange`.
    pub fn new(exchange: Exchange) -> FeedStatus {
        FeedStatus {
            exchange,
            messages: AtomicU64::new(0),
            events: AtomicU64::new(0),
            parse_errors: AtomicU64::new(0),
            reconnects: AtomicU64::new(0),
            gaps: AtomicU64::new(0),
            backfilled: AtomicU64::new(0),
            duplicates: AtomicU64::new(0),
            rejected: std::array::from_fn(|_| AtomicU64::new(0)),
            last_message_micros: AtomicI64::new(i64::MIN),
            per_second: std::array::from_fn(|_| AtomicU64::new(0)),
            slow: Mutex::new(Slow {
                state: FeedState::Idle,
                markets: BTreeSet::new(),
                last_disconnect_reason: None,
            }),
        }
    }

    /// Records a frame received at `at` that produced `events` events.
    pub fn record_message(&self, at: UtcMicros, events: u64) {
        self.messages.fetch_add(1, Ordering::Relaxed);
        self.record_events(at, events);
        self.last_message_micros
            .store(at.as_micros(), Ordering::Relaxed);
    }

    /// Records events emitted at `at` (live or backfilled).
    pub fn record_events(&self, at: UtcMicros, events: u64) {
        if events == 0 {
            return;
        }
        self.events.fetch_add(events, Ordering::Relaxed);
        let second = at.as_micros().div_euclid(1_000_000) as u64 & 0xFFFF_FFFF;
        let slot = &self.per_second[(second % 60) as usize];
        let mut current = slot.load(Ordering::Relaxed);
        loop {
            let next = if current >> 32 == second {
                current + events
            } else {
                (second << 32) | events.min(0xFFFF_FFFF)
            };
            match slot.compare_exchange_weak(current, next, Ordering::Relaxed, Ordering::Relaxed) {
                Ok(_) => break,
                Err(actual) => current = actual,
            }
        }
    }

    /// Records any inbound traffic (pongs, keepalive replies) for liveness reporting.
    pub fn record_traffic(&self, at: UtcMicros) {
        self.last_message_micros
            .store(at.as_micros(), Ordering::Relaxed);
    }

    /// Counts a malformed frame and returns the running total.
    pub fn record_parse_error(&self) -> u64 {
        self.parse_errors.fetch_add(1, Ordering::Relaxed) + 1
    }

    /// Counts a frame or event refused at the edge and returns the running total of its
    /// reason.
    pub fn record_rejection(&self, reason: RejectReason) -> u64 {
        self.rejected[reason.index()].fetch_add(1, Ordering::Relaxed) + 1
    }

    /// Counts a duplicate trade dropped.
    pub fn record_duplicate(&self) {
        self.duplicates.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a reconnect.
    pub fn record_reconnect(&self) {
        self.reconnects.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a gap and the trades backfilled for it.
    pub fn record_gap(&self, backfilled: u64) {
        self.gaps.fetch_add(1, Ordering::Relaxed);
        self.backfilled.fetch_add(backfilled, Ordering::Relaxed);
    }

    /// Sets the connection state.
    pub fn set_state(&self, state: FeedState) {
        self.with_slow(|s| s.state = state);
    }

    /// Sets the desired markets.
    pub fn set_markets(&self, markets: BTreeSet<Market>) {
        self.with_slow(|s| s.markets = markets);
    }

    /// Records why the last session ended.
    pub fn set_disconnect_reason(&self, reason: String) {
        self.with_slow(|s| s.last_disconnect_reason = Some(reason));
    }

    fn with_slow(&self, f: impl FnOnce(&mut Slow)) {
        // A poisoned lock only means another thread panicked mid-update of plain data; the
        // status is still meaningful, so keep using it.
        let mut guard = self.slow.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut guard);
    }

    /// Copies the status; `now` anchors the events-per-second window.
    pub fn snapshot(&self, now: UtcMicros) -> FeedSnapshot {
        let now_second = now.as_micros().div_euclid(1_000_000) as u64 & 0xFFFF_FFFF;
        let recent: u64 = self
            .per_second
            .iter()
            .map(|slot| slot.load(Ordering::Relaxed))
            .filter(|v| now_second.wrapping_sub(v >> 32) < 60)
            .map(|v| v & 0xFFFF_FFFF)
            .sum();
        let last = self.last_message_micros.load(Ordering::Relaxed);
        let guard = self.slow.lock().unwrap_or_else(|p| p.into_inner());
        FeedSnapshot {
            exchange: self.exchange,
            state: guard.state,
            markets: guard.markets.clone(),
            messages: self.messages.load(Ordering::Relaxed),
            events: self.events.load(Ordering::Relaxed),
            parse_errors: self.parse_errors.load(Ordering::Relaxed),
            reconnects: self.reconnects.load(Ordering::Relaxed),
            gaps: self.gaps.load(Ordering::Relaxed),
            backfilled_trades: self.backfilled.load(Ordering::Relaxed),
            duplicates: self.duplicates.load(Ordering::Relaxed),
            rejected: std::array::from_fn(|i| self.rejected[i].load(Ordering::Relaxed)),
            last_message_time: (last != i64::MIN).then_some(UtcMicros(last)),
            events_per_second: recent as f64 / 60.0,
            last_disconnect_reason: guard.last_disconnect_reason.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_rates_reflect_recorded_frames() {
        let status = FeedStatus::new(Exchange::Upbit);
        let t = UtcMicros::from_millis(1_790_000_000_000);
        for i in 0..120 {
            status.record_message(t.add_micros(i * 500_000), 2);
        }
        status.record_parse_error();
        status.record_gap(7);
        assert_eq!(status.record_rejection(RejectReason::TimeSkew), 1);
        assert_eq!(status.record_rejection(RejectReason::TimeSkew), 2);
        status.record_rejection(RejectReason::Unsubscribed);
        status.set_state(FeedState::Connected);
        let snap = status.snapshot(t.add_micros(59_999_999));
        assert_eq!(
            (snap.messages, snap.events, snap.parse_errors),
            (120, 240, 1)
        );
        assert_eq!((snap.gaps, snap.backfilled_trades), (1, 7));
        assert_eq!(snap.rejected(RejectReason::TimeSkew), 2);
        assert_eq!(snap.rejected(RejectReason::Unsubscribed), 1);
        assert_eq!(snap.rejected(RejectReason::Oversize), 0);
        assert_eq!(snap.rejected_total(), 3);
        assert_eq!(snap.state, FeedState::Connected);
        assert_eq!(snap.events_per_second, 4.0);
        // A minute later the window holds nothing.
        let later = status.snapshot(t.add_micros(200_000_000));
        assert_eq!(later.events_per_second, 0.0);
        assert_eq!(later.last_message_time, Some(t.add_micros(119 * 500_000)));
    }
}
