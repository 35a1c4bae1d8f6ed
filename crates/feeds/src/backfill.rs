//! Recovering the trades missed while a feed was disconnected.
//!
//! After every reconnect the session subscribes first and asks REST for history only once the
//! exchange confirmed the subscription (Korbit's acks, Upbit's and Bithumb's first snapshot),
//! so a trade executed in between arrives live or in the history, never in neither. History pages
//! come newest first; paging stops at the first trade older than the last one seen before the
//! outage. Exchange trade ids are unique but not ordered (Upbit says so outright), so the
//! cut-off is by exchange time, and the session's deduper drops the overlap.

use tickmesh_domain::{Market, Trade, UtcMicros};

use crate::dedupe::LastTrade;
use crate::protocol::{RestError, TradeHistory};

/// Limits on how far back a backfill pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BackfillLimits {
    /// Trades asked for per request (Upbit and Bithumb allow up to 500).
    pub page_size: u32,
    /// Requests at most per market and reconnect.
    pub max_pages: u32,
}

impl Default for BackfillLimits {
    fn default() -> Self {
        BackfillLimits {
            page_size: 500,
            max_pages: 20,
        }
    }
}

/// The trades recovered for one market.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Backfill {
    /// Trades at or after the last one seen, oldest first (may include already-seen trades).
    pub trades: Vec<(UtcMicros, Trade)>,
    /// Whether the history reached back past the last trade seen.
    pub complete: bool,
}

/// Pages back through `history` until it passes `since`, within `limits`.
pub async fn backfill(
    history: &dyn TradeHistory,
    market: Market,
    since: LastTrade,
    limits: BackfillLimits,
) -> Result<Backfill, RestError> {
    let mut trades = Vec::new();
    let mut cursor = None;
    let mut complete = false;
    for _ in 0..limits.max_pages {
        let page = history.trades(market, cursor, limits.page_size).await?;
        // A last page that is not full is the start of the market's history: nothing older
        // exists, so nothing before it can be missing. (A full last page is Korbit's limit
        // of its latest trades, which says nothing about older ones.)
        let history_starts =
            page.next_cursor.is_none() && page.trades.len() < limits.page_size as usize;
        for (time, trade) in page.trades {
            if time < since.time || (time == since.time && trade.trade_id == since.id) {
                complete = true;
            } else {
                trades.push((time, trade));
            }
        }
        if complete || history_starts {
            complete = true;
            break;
        }
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    trades.sort_by_key(|(time, trade)| (*time, trade.trade_id));
    Ok(Backfill { trades, complete })
}

#[cfg(test)]
mod tests;
