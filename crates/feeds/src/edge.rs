//! The edge checks: what a frame or an event must satisfy before the feed forwards it.
//!
//! An exchange is outside tickmesh's control, and so is anything that can stand in for one on
//! the network. Every frame and event passes these checks before the deduper sees it, so a
//! refused one never creates per-market state (a dedupe window, a last trade) or reaches the
//! bus:
//!
//! * a frame longer than [`EdgeLimits::max_frame_bytes`] is skipped unread (`oversize`);
//! * a live event must be for a market the connection subscribed to (`unsubscribed`), and pass
//!   [`EventBounds::check`]: values in range (`bad_value`), at most
//!   [`EventBounds::max_levels`] levels per book side (`book_depth`), and an exchange time
//!   within [`EventBounds::max_skew`] of its receipt (`time_skew`);
//! * a backfilled trade passes [`EventBounds::check_stored`] instead: REST history is
//!   legitimately older than the skew, but never in the future or before the Unix epoch.
//!
//! A snapshot counts as live: the last trade of a quiet market that Upbit and Bithumb send on
//! subscribing, or the empty book with a days-old time Korbit sends for a pair without orders,
//! is refused as `time_skew` when it is older than the skew (trades older than that are the
//! backfill's business, and an empty book says nothing).
//!
//! Refusals are counted per reason in [`FeedStatus`] and logged: the first
//! [`LOGGED_IN_FULL`] of each reason, then one in [`LOG_SAMPLE`].
//!
//! The checks are on the hot path: on success they allocate nothing and cost a hash lookup and
//! a few comparisons per event; the texts describing a refusal are built only on failure.

use std::collections::HashSet;
use std::fmt;
use std::time::Duration;

use foldhash::fast::RandomState;
use tickmesh_domain::{EventBounds, Exchange, Market, MarketEvent, RejectReason, Rejection};
use tokio::time::Instant;
use tracing::warn;

use crate::status::FeedStatus;

/// How many refusals of each reason are logged in full before sampling.
pub const LOGGED_IN_FULL: u64 = 10;
/// After that, one refusal in this many is logged.
pub const LOG_SAMPLE: u64 = 1_000;

/// How long events of a market just unsubscribed are dropped without counting them: frames
/// already on the wire when the request went out are not the exchange misbehaving.
const LEAVING_GRACE: Duration = Duration::from_secs(10);

/// The configurable limits of the edge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EdgeLimits {
    /// Frames longer than this are skipped and counted as `oversize`, the connection stays.
    pub max_frame_bytes: usize,
    /// Value, depth and time checks of every event.
    pub bounds: EventBounds,
}

impl Default for EdgeLimits {
    fn default() -> Self {
        Self {
            max_frame_bytes: 1024 * 1024,
            bounds: EventBounds::default(),
        }
    }
}

impl EdgeLimits {
    /// How many times [`EdgeLimits::max_frame_bytes`] the socket itself reads at most: a
    /// frame up to this long is read and skipped; a longer one ends the connection before its
    /// payload is buffered, so memory stays bounded whatever a peer announces.
    pub const HARD_CAP_FACTOR: usize = 4;

    /// The socket's own message and frame size limit.
    pub fn hard_cap(&self) -> usize {
        self.max_frame_bytes.saturating_mul(Self::HARD_CAP_FACTOR)
    }
}

/// Why the edge refused a frame or an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// A frame over the limit.
    Oversize {
        /// Its length.
        bytes: usize,
        /// The limit.
        limit: usize,
    },
    /// An event for a market the connection did not subscribe to.
    Unsubscribed,
    /// An event outside the [`EventBounds`].
    Bounds(Rejection),
}

impl Refusal {
    /// The metric label.
    pub fn reason(&self) -> RejectReason {
        match self {
            Refusal::Oversize { .. } => RejectReason::Oversize,
            Refusal::Unsubscribed => RejectReason::Unsubscribed,
            Refusal::Bounds(rejection) => rejection.reason(),
        }
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::Oversize { bytes, limit } => {
                write!(f, "frame of {bytes} bytes is over the limit of {limit}")
            }
            Refusal::Unsubscribed => f.write_str("market not subscribed on this connection"),
            Refusal::Bounds(rejection) => rejection.fmt(f),
        }
    }
}

/// What to do with an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Forward it (through the deduper).
    Admit,
    /// Drop it without counting: its market was unsubscribed a moment ago.
    Leaving,
    /// Refuse it: count and log.
    Refuse(Refusal),
}

/// The per-connection state of the checks: the subscription set and the markets leaving it.
#[derive(Debug)]
pub(crate) struct Gate {
    bounds: EventBounds,
    subscribed: HashSet<Market, RandomState>,
    /// Markets unsubscribed within [`LEAVING_GRACE`], with when they left; bounded by the
    /// markets removed in that time, pruned at every change.
    leaving: Vec<(Market, Instant)>,
}

impl Gate {
    /// A gate for a new connection, nothing subscribed yet.
    pub(crate) fn new(bounds: EventBounds) -> Self {
        Self {
            bounds,
            subscribed: HashSet::default(),
            leaving: Vec::new(),
        }
    }

    /// The connection now subscribes to `markets`.
    pub(crate) fn set_subscribed<'a>(
        &mut self,
        markets: impl IntoIterator<Item = &'a Market>,
        now: Instant,
    ) {
        let next: HashSet<Market, RandomState> = markets.into_iter().copied().collect();
        self.leaving
            .retain(|(m, left)| now.duration_since(*left) < LEAVING_GRACE && !next.contains(m));
        for gone in self.subscribed.iter().filter(|m| !next.contains(*m)) {
            self.leaving.push((*gone, now));
        }
        self.subscribed = next;
    }

    /// Whether `market` is subscribed on this connection.
    pub(crate) fn subscribes(&self, market: &Market) -> bool {
        self.subscribed.contains(market)
    }

    /// Checks a live event.
    pub(crate) fn live(&self, event: &MarketEvent) -> Verdict {
        self.live_at(event, Instant::now)
    }

    /// [`Gate::live`] with the clock given (read only for a market not subscribed).
    fn live_at(&self, event: &MarketEvent, clock: impl FnOnce() -> Instant) -> Verdict {
        if !self.subscribed.contains(&event.market) {
            let now = clock();
            let leaving = self
                .leaving
                .iter()
                .any(|(m, left)| *m == event.market && now.duration_since(*left) < LEAVING_GRACE);
            return if leaving {
                Verdict::Leaving
            } else {
                Verdict::Refuse(Refusal::Unsubscribed)
            };
        }
        match self.bounds.check(event) {
            Ok(()) => Verdict::Admit,
            Err(rejection) => Verdict::Refuse(Refusal::Bounds(rejection)),
        }
    }

    /// Checks a backfilled trade (its receipt time is now).
    pub(crate) fn backfilled(&self, event: &MarketEvent) -> Result<(), Refusal> {
        self.bounds
            .check_stored(event, event.received_time)
            .map_err(Refusal::Bounds)
    }
}

/// Counts a refusal in `status` and logs it if it is among the first of its reason or sampled.
pub(crate) fn refused(
    status: &FeedStatus,
    exchange: Exchange,
    market: Option<Market>,
    refusal: &Refusal,
) {
    let reason = refusal.reason();
    let count = status.record_rejection(reason);
    if count <= LOGGED_IN_FULL || count.is_multiple_of(LOG_SAMPLE) {
        // The refusal's text is built from typed values (numbers, times, field names), and a
        // market is validated ASCII: nothing here is the peer's raw text.
        match market {
            Some(market) => {
                warn!(%exchange, %market, %reason, refusal = %refusal, count, "refused at the edge")
            }
            None => warn!(%exchange, %reason, refusal = %refusal, count, "refused at the edge"),
        }
    }
}

#[cfg(test)]
mod tests;
