//! Remembering which trades were already delivered.
//!
//! After a reconnect a trade can arrive three ways: as the exchange's snapshot (the latest
//! trade), in the REST backfill, and live. Korbit also redelivers after a resubscribe. A bounded
//! window of recent ids per market drops the repeats; the window is far larger than any
//! backfill page, and storage still writes idempotently as the last line of defence.
//!
//! It also remembers since when each market has been watched, so an outage of a market that
//! showed no trade yet still has a start to backfill from.
//!
//! Every live trade costs a market lookup, an id insert and, once the window is full, an id
//! removal, so the hasher matters: foldhash, randomly seeded per process like std's SipHash,
//! does it in a fraction of SipHash's instructions (docs/benchmarks.md).

use std::collections::{HashMap, HashSet, VecDeque};

use foldhash::fast::RandomState;
use tickmesh_domain::{Market, TradeId, UtcMicros};

/// The latest trade seen for a market, where backfill resumes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LastTrade {
    /// Exchange time of the newest trade seen.
    pub time: UtcMicros,
    /// Its id.
    pub id: TradeId,
}

#[derive(Debug, Default)]
struct MarketWindow {
    ids: HashSet<TradeId, RandomState>,
    order: VecDeque<TradeId>,
    last: Option<LastTrade>,
    /// When the feed first asked for this market's trades (local clock).
    watched_since: Option<UtcMicros>,
}

/// How far before the instant a market was first watched its outage backfill reaches when no
/// trade of it was seen: trade times are the exchange's clock, the watch time is ours, and a
/// trade made just after the subscription must not fall outside the window by clock skew.
/// Trades that early were never delivered either, so including them loses nothing.
const WATCH_SKEW_MICROS: i64 = 5_000_000;

/// Recent trade ids per market, each market bounded to `capacity` ids (oldest forgotten first).
#[derive(Debug)]
pub struct TradeDeduper {
    capacity: usize,
    markets: HashMap<Market, MarketWindow, RandomState>,
}

impl TradeDeduper {
    /// Builds a deduper remembering up to `capacity` ids per market.
    pub fn new(capacity: usize) -> TradeDeduper {
        TradeDeduper {
            capacity: capacity.max(1),
            markets: HashMap::default(),
        }
    }

    /// Records a trade; returns `false` when it was already seen (drop it).
    pub fn first_sighting(&mut self, market: Market, id: TradeId, time: UtcMicros) -> bool {
        let window = self.markets.entry(market).or_default();
        if !window.ids.insert(id) {
            return false;
        }
        window.order.push_back(id);
        if window.order.len() > self.capacity
            && let Some(old) = window.order.pop_front()
        {
            window.ids.remove(&old);
        }
        let newer = window.last.is_none_or(|l| (time, id) > (l.time, l.id));
        if newer {
            window.last = Some(LastTrade { time, id });
        }
        true
    }

    /// Notes that the feed subscribed to `market` at `at`, unless it was already watched.
    pub fn watch(&mut self, market: Market, at: UtcMicros) {
        let window = self.markets.entry(market).or_default();
        window.watched_since.get_or_insert(at);
    }

    /// Where an outage starting now begins, per market: the newest trade seen, or for a market
    /// watched without a trade seen, the instant watching began (less [`WATCH_SKEW_MICROS`],
    /// with trade id 0). A market neither traded nor watched has no outage to recover.
    pub fn outage_starts(&self) -> HashMap<Market, LastTrade> {
        self.markets
            .iter()
            .filter_map(|(m, w)| {
                let start = w.last.or_else(|| {
                    w.watched_since.map(|at| LastTrade {
                        time: UtcMicros(at.as_micros().saturating_sub(WATCH_SKEW_MICROS)),
                        id: TradeId(0),
                    })
                })?;
                Some((*m, start))
            })
            .collect()
    }

    /// Returns the newest trade seen for `market`, if any.
    pub fn last_trade(&self, market: &Market) -> Option<LastTrade> {
        self.markets.get(market).and_then(|w| w.last)
    }

    /// Returns whether `id` is in the window for `market`.
    pub fn contains(&self, market: &Market, id: TradeId) -> bool {
        self.markets
            .get(market)
            .is_some_and(|w| w.ids.contains(&id))
    }

    /// Forgets markets no longer subscribed, so memory follows the desired set.
    pub fn retain_markets(&mut self, keep: impl Fn(&Market) -> bool) {
        self.markets.retain(|m, _| keep(m));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn btc() -> Market {
        Market::parse("BTC").unwrap()
    }

    #[test]
    fn repeats_are_dropped_and_the_newest_trade_is_tracked() {
        let mut d = TradeDeduper::new(10);
        assert!(d.first_sighting(btc(), TradeId(5), UtcMicros(50)));
        assert!(d.first_sighting(btc(), TradeId(3), UtcMicros(30)));
        assert!(!d.first_sighting(btc(), TradeId(5), UtcMicros(50)));
        assert_eq!(
            d.last_trade(&btc()),
            Some(LastTrade {
                time: UtcMicros(50),
                id: TradeId(5)
            })
        );
        let eth = Market::parse("ETH").unwrap();
        assert!(
            d.first_sighting(eth, TradeId(5), UtcMicros(1)),
            "ids are per market"
        );
    }

    #[test]
    fn the_window_is_bounded() {
        let mut d = TradeDeduper::new(3);
        for id in 0..5 {
            assert!(d.first_sighting(btc(), TradeId(id), UtcMicros(id as i64)));
        }
        assert!(!d.contains(&btc(), TradeId(1)));
        assert!(d.contains(&btc(), TradeId(4)));
        d.retain_markets(|_| false);
        assert_eq!(d.last_trade(&btc()), None);
    }

    #[test]
    fn an_outage_starts_at_the_last_trade_or_when_watching_began() {
        let mut d = TradeDeduper::new(10);
        let eth = Market::parse("ETH").unwrap();
        let xrp = Market::parse("XRP").unwrap();
        d.watch(btc(), UtcMicros(10_000_000));
        d.watch(btc(), UtcMicros(20_000_000));
        d.watch(eth, UtcMicros(10_000_000));
        assert!(d.first_sighting(eth, TradeId(7), UtcMicros(12_000_000)));
        assert!(d.first_sighting(xrp, TradeId(9), UtcMicros(13_000_000)));
        let starts = d.outage_starts();
        // Watched, never traded: from the first watch, less the clock-skew allowance.
        assert_eq!(
            starts.get(&btc()),
            Some(&LastTrade {
                time: UtcMicros(10_000_000 - WATCH_SKEW_MICROS),
                id: TradeId(0)
            })
        );
        // Traded: from the newest trade, watched or not.
        assert_eq!(starts.get(&eth).map(|l| l.id), Some(TradeId(7)));
        assert_eq!(starts.get(&xrp).map(|l| l.id), Some(TradeId(9)));
        // A market no longer subscribed is forgotten, its watch included.
        d.retain_markets(|m| *m != btc());
        assert!(!d.outage_starts().contains_key(&btc()));
    }
}
