//! Outages in a feed, reported so users know what the data may be missing.

use crate::exchange::Exchange;
use crate::market::Market;
use crate::time::UtcMicros;

/// A window during which a feed was disconnected from an exchange for one market.
///
/// Trades in the window are recovered from the exchange's REST history where it reaches back
/// far enough; `complete` says whether it did. Tickers and order books are full state on every
/// frame, so the first frames after the reconnect heal them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeedGap {
    /// The exchange.
    pub exchange: Exchange,
    /// The market.
    pub market: Market,
    /// Exchange time of the last trade received before the outage.
    pub from: UtcMicros,
    /// When the feed was subscribed again.
    pub to: UtcMicros,
    /// Trades recovered from REST.
    pub backfilled_trades: u64,
    /// Whether the REST history reached back to `from`, so no trade can be missing.
    pub complete: bool,
}
