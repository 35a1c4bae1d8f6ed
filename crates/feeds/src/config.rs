//! What a feed is configured with and what it emits, shared by the feed loop and its
//! sessions.

use std::collections::BTreeMap;
use std::time::Duration;

use tickmesh_domain::{Exchange, FeedGap, Market, MarketEvent, UtcMicros};

use crate::backfill::BackfillLimits;
use crate::backoff::BackoffConfig;
use crate::dedupe::LastTrade;
use crate::edge::EdgeLimits;

/// What a feed emits.
#[derive(Debug, Clone, PartialEq)]
pub enum FeedOutput {
    /// A market event, live or backfilled.
    Event(MarketEvent),
    /// An outage after which the feed reconnected.
    Gap(FeedGap),
    /// The trades of `market` missed in an outage (after `since`) are being recovered from
    /// REST (the startup window is not announced): until the
    /// matching [`FeedOutput::RecoveryFinished`], the trades already forwarded are not all
    /// there are since then (a replicated ingestion must not tell a successor otherwise).
    RecoveryStarted {
        /// The exchange.
        exchange: Exchange,
        /// The market.
        market: Market,
        /// The last trade known before the outage (or the start of the startup window).
        since: LastTrade,
    },
    /// The recovery of `market` ended (recovered, failed, or no longer wanted).
    RecoveryFinished {
        /// The exchange.
        exchange: Exchange,
        /// The market.
        market: Market,
    },
}

/// Settings of one feed.
#[derive(Debug, Clone)]
pub struct FeedConfig {
    /// The exchange.
    pub exchange: Exchange,
    /// WebSocket URL (`wss://api.upbit.com/websocket/v1`, or a simulator's).
    pub ws_url: String,
    /// How often to send a protocol ping (and the exchange's text keepalive, if any). Must be
    /// well under the 60 s idle cut Upbit and Bithumb apply.
    pub ping_interval: Duration,
    /// A session with no inbound traffic at all (not even pongs) for this long is dead.
    pub idle_timeout: Duration,
    /// Limit on opening the socket.
    pub connect_timeout: Duration,
    /// Reconnect delays.
    pub backoff: BackoffConfig,
    /// A session that lasted this long resets the backoff.
    pub healthy_after: Duration,
    /// Recent trade ids remembered per market to drop repeats.
    pub dedupe_window: usize,
    /// How far back to page after a reconnect.
    pub backfill: BackfillLimits,
    /// On the feed's first connection, recover the trades of this long before it from REST
    /// (zero: none). A restarted ingestion process has no last trade to backfill from; this
    /// covers its downtime, and the stores drop what they already hold.
    pub startup_backfill: Duration,
    /// After reading every frame the socket already holds, wait this long before reading
    /// again (zero: read each frame as it arrives). Frames then arrive in the socket's buffer
    /// while the task sleeps and are read a burst at a time: fewer wake-ups and reads per
    /// frame, for up to this much added latency.
    pub read_pause: Duration,
    /// Message limits of the exchange (empty when it publishes none).
    pub message_limits: Vec<crate::ratelimit::RateLimit>,
    /// What frames and events must satisfy to be forwarded (see [`crate::edge`]).
    pub edge: EdgeLimits,
    /// Markets this feed takes over from another owner, with where that owner stopped: on
    /// the first connection their trades are recovered from exactly there (instead of the
    /// startup window) and a gap from its last event is reported.
    pub resume: BTreeMap<Market, Resume>,
}

/// Where a previous owner of a market stopped publishing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Resume {
    /// Exchange time of its last event of any kind.
    pub last_event: UtcMicros,
    /// Its last trade, if it published one.
    pub last_trade: Option<LastTrade>,
}

impl FeedConfig {
    /// Production defaults for `exchange` at `ws_url`.
    pub fn new(exchange: Exchange, ws_url: impl Into<String>) -> FeedConfig {
        let message_limits = match exchange {
            Exchange::Upbit | Exchange::Bithumb => vec![
                crate::ratelimit::RateLimit {
                    max: 5,
                    window: Duration::from_secs(1),
                },
                crate::ratelimit::RateLimit {
                    max: 100,
                    window: Duration::from_secs(60),
                },
            ],
            Exchange::Korbit => vec![],
        };
        FeedConfig {
            exchange,
            ws_url: ws_url.into(),
            ping_interval: Duration::from_secs(20),
            idle_timeout: Duration::from_secs(75),
            connect_timeout: Duration::from_secs(10),
            backoff: BackoffConfig::default(),
            healthy_after: Duration::from_secs(30),
            dedupe_window: 50_000,
            backfill: BackfillLimits::default(),
            startup_backfill: Duration::ZERO,
            read_pause: Duration::ZERO,
            message_limits,
            edge: EdgeLimits::default(),
            resume: BTreeMap::new(),
        }
    }
}
