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
//! Every live trade costs a market lookup and a look at the window. An exchange numbers a
//! market's trades in increasing order, so a live trade is nearly always the highest id yet:
//! such ids are kept in a sorted queue ([`IdWindow`]), where remembering one is a push at the
//! back and forgetting the oldest a pop at the front, on memory read in order. A hash set of a
//! window this size (50,000 ids per market by default, megabytes per exchange) missed the
//! cache on every insert and every removal, a visible share of ingestion's CPU
//! (docs/benchmarks.md). Ids that arrive out of order (backfill, redelivery, or a peer that
//! numbers at random) go to a hash set of their own, bounded the same way, so no order of ids
//! costs more than a hash lookup and a binary search. The market lookup uses foldhash,
//! randomly seeded per process like std's SipHash, in a fraction of SipHash's instructions.

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

/// The ids remembered for one market: those that arrived as the highest yet, sorted, and the
/// others, hashed. Each part holds at most the deduper's capacity, oldest forgotten first, so a
/// market costs at most twice that many ids.
#[derive(Debug, Default)]
struct IdWindow {
    /// Ids that were each the highest so far when they came, so in increasing order.
    rising: VecDeque<TradeId>,
    /// Ids that came lower than one already remembered, in arrival order ...
    scattered_order: VecDeque<TradeId>,
    /// ... and hashed for lookup.
    scattered: HashSet<TradeId, RandomState>,
}

impl IdWindow {
    /// Remembers `id`; `false` when it was already remembered.
    fn insert(&mut self, id: TradeId, capacity: usize) -> bool {
        if self.rising.back().is_none_or(|&highest| id > highest) {
            self.rising.push_back(id);
            if self.rising.len() > capacity {
                self.rising.pop_front();
            }
            return true;
        }
        if self.contains(id) {
            return false;
        }
        self.scattered.insert(id);
        self.scattered_order.push_back(id);
        if self.scattered_order.len() > capacity
            && let Some(old) = self.scattered_order.pop_front()
        {
            self.scattered.remove(&old);
        }
        true
    }

    fn contains(&self, id: TradeId) -> bool {
        self.rising.binary_search(&id).is_ok() || self.scattered.contains(&id)
    }
}

#[derive(Debug, Default)]
struct MarketWindow {
    ids: IdWindow,
    last: Option<LastTrade>,
    /// When the feed first asked for this market's trades (local clock).
    watched_since: Option<UtcMicros>,
}

/// How far before the instant a market was first watched its outage backfill reaches when no
/// trade of it was seen: trade times are the exchange's clock, the watch time is ours, and a
/// trade made just after the subscription must not fall outside the window by clock skew.
/// Trades that early were never delivered either, so including them loses nothing.
const WATCH_SKEW_MICROS: i64 = 5_000_000;

/// Recent trade ids per market, each market bounded to `capacity` ids that came in order and as
/// many that did not (oldest forgotten first).
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
        if !window.ids.insert(id, self.capacity) {
            return false;
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
        self.markets.get(market).is_some_and(|w| w.ids.contains(id))
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
    fn ids_out_of_order_are_remembered_and_bounded_apart() {
        let mut d = TradeDeduper::new(3);
        for id in [10, 11, 12] {
            assert!(d.first_sighting(btc(), TradeId(id), UtcMicros(id as i64)));
        }
        // A redelivery of an id in the rising part, and a backfilled gap below it.
        assert!(!d.first_sighting(btc(), TradeId(11), UtcMicros(11)));
        assert!(d.first_sighting(btc(), TradeId(9), UtcMicros(9)));
        assert!(!d.first_sighting(btc(), TradeId(9), UtcMicros(9)));
        // A hostile peer counting down: every id is new, and memory stays bounded.
        for id in (100..1_000).rev() {
            assert!(d.first_sighting(btc(), TradeId(id), UtcMicros(0)));
        }
        let window = &d.markets[&btc()].ids;
        assert_eq!(window.rising.len(), 3);
        assert_eq!(window.scattered.len(), 3);
        assert_eq!(window.scattered_order.len(), 3);
        // The rising part only ever saw 10, 11, 12 and 999 as the highest: 11, 12, 999 stay.
        assert!(d.contains(&btc(), TradeId(999)));
        assert!(
            d.contains(&btc(), TradeId(100)),
            "the newest scattered ids stay"
        );
        assert!(
            !d.contains(&btc(), TradeId(9)),
            "the oldest scattered ids are forgotten"
        );
        assert!(!d.contains(&btc(), TradeId(10)));
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
