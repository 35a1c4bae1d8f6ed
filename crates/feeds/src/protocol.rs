//! The ports a feed needs from an exchange: its WebSocket dialect and its REST trade history.
//!
//! Implementations for Upbit, Bithumb and Korbit wrap the pure parsers and request builders of
//! `tickmesh-exchanges`; tests can script their own.

use std::collections::BTreeSet;

use async_trait::async_trait;
use tickmesh_domain::{Exchange, Market, MarketEvent, Trade, UtcMicros};

// The frame vocabulary is defined with the pure parsers, so parsers and sessions share it.
pub use tickmesh_exchanges::{Control, FrameError};

/// One exchange's WebSocket dialect, stateful per connection (request ids, ticket counters).
pub trait WireProtocol: Send + 'static {
    /// The exchange this speaks to.
    fn exchange(&self) -> Exchange;

    /// Called when a new connection opens, before any request is built.
    fn reset(&mut self);

    /// Returns the text messages that move this connection from `current` to `desired`.
    ///
    /// Upbit and Bithumb replace the whole set with every request, so they return one message
    /// with all of `desired`; Korbit returns incremental subscribe and unsubscribe requests. An
    /// empty `desired` may return nothing: the session closes the socket instead.
    fn resubscribe(
        &mut self,
        current: &BTreeSet<Market>,
        desired: &BTreeSet<Market>,
    ) -> Vec<String>;

    /// Returns an application-level keepalive to send besides protocol pings, if the exchange
    /// has one (Upbit and Bithumb answer a text `PING` with `{"status":"UP"}`).
    fn keepalive(&self) -> Option<&'static str>;

    /// Whether the exchange has confirmed the latest subscription change: Korbit by
    /// acknowledging every request, Upbit and Bithumb (which never acknowledge) by sending
    /// data. Backfill after a reconnect waits for this, because a trade executed after the
    /// REST history was read but before the subscription took effect would otherwise be lost.
    fn subscription_confirmed(&self) -> bool;

    /// Parses one frame's payload (binary and text frames alike), appending events to `out`.
    fn parse(
        &mut self,
        payload: &[u8],
        received: UtcMicros,
        out: &mut Vec<MarketEvent>,
    ) -> Result<Control, FrameError>;
}

/// A page of trades from an exchange's REST history, newest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TradePage {
    /// Trades with their exchange times, newest first.
    pub trades: Vec<(UtcMicros, Trade)>,
    /// Pass to [`TradeHistory::trades`] for the next older page; `None` when the exchange
    /// offers no older pages (Korbit only serves its latest 500 trades).
    pub next_cursor: Option<u64>,
}

/// Why a REST call failed.
#[derive(Debug, thiserror::Error)]
pub enum RestError {
    /// The HTTP request failed or timed out.
    #[error("request to {url} failed")]
    Transport {
        /// The URL requested.
        url: String,
        /// The underlying error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The exchange answered with an error envelope or status.
    #[error("{url} answered {status}: {message}")]
    Exchange {
        /// The URL requested.
        url: String,
        /// HTTP status.
        status: u16,
        /// The exchange's message, escaped and cut ([`tickmesh_exchanges::Untrusted`]).
        message: String,
    },
    /// The body did not parse.
    #[error("unexpected response from {url}: {reason}")]
    Body {
        /// The URL requested.
        url: String,
        /// What was wrong, escaped and cut (it may quote the body).
        reason: String,
    },
    /// The body was longer than the client reads.
    #[error("response from {url} is larger than {limit} bytes")]
    TooLarge {
        /// The URL requested.
        url: String,
        /// The most the client reads.
        limit: usize,
    },
}

/// An exchange's REST market list and trade history.
#[async_trait]
pub trait TradeHistory: Send + Sync + 'static {
    /// Returns the markets the exchange lists as tradable.
    async fn markets(&self) -> Result<Vec<Market>, RestError>;

    /// Returns up to `count` trades of `market`, newest first, older than `cursor` if given.
    async fn trades(
        &self,
        market: Market,
        cursor: Option<u64>,
        count: u32,
    ) -> Result<TradePage, RestError>;
}
