//! Live exchange feeds: one long-lived WebSocket session per exchange that follows a desired
//! set of markets, stays alive through quiet markets, reconnects forever, and backfills the
//! trades it missed while disconnected.
//!
//! The wire formats themselves live in `tickmesh-exchanges` (pure parsing); this crate owns the
//! I/O around them.
//!
//! # Layout
//! * [`backoff`]: capped exponential reconnect delays with full jitter.
//! * [`ratelimit`]: client-side counting of the exchanges' message limits.
//! * [`dedupe`]: bounded per-market windows of recent trade ids.
//! * [`edge`]: the checks every frame and event passes before it is forwarded.
//! * [`protocol`]: the ports a feed needs from an exchange (wire dialect, REST history).
//! * [`session`]: one socket's life, ending with a [`SessionEnd`] reason.
//! * [`feed`]: the reconnect loop around sessions, driven by a desired market set.
//! * [`backfill`]: paging REST history back to the last trade seen.
//! * `recovery`: backfill in a task of its own, off the session's loop.
//! * [`rest`]: the exchanges' REST APIs, paced below their limits, bodies capped.
//! * [`status`]: counters and state reported by `IngestionService.ListFeeds`.

pub mod backfill;
pub mod backoff;
pub mod config;
pub mod dedupe;
pub mod edge;
pub mod exchanges;
pub mod feed;
pub mod markets;
pub mod protocol;
pub mod ratelimit;
mod recovery;
pub mod rest;
pub mod session;
pub mod status;

pub use backfill::{Backfill, BackfillLimits, backfill};
pub use backoff::{Backoff, BackoffConfig};
pub use config::{FeedConfig, FeedOutput, Resume};
pub use dedupe::{LastTrade, TradeDeduper};
pub use edge::{EdgeLimits, Refusal};
pub use exchanges::{Endpoints, KorbitProtocol, QuotationProtocol, protocol_for};
pub use feed::{FeedControl, FeedHandle, spawn_feed};
pub use markets::{MarketList, UnknownMarkets};
pub use protocol::{Control, FrameError, RestError, TradeHistory, TradePage, WireProtocol};
pub use ratelimit::{MessageRateLimiter, RateLimit};
pub use rest::{RequestPacer, RestClient, RestLimits};
pub use session::SessionEnd;
pub use status::{FeedSnapshot, FeedState, FeedStatus};
