//! Which live events a stream client wants: sets of exchanges, markets and kinds, each empty
//! for "all". The filter knows the narrowest live channel patterns that cover it and decides
//! per decoded event (kinds are not part of a channel name, so they are checked only here).

use std::collections::BTreeSet;

use tickmesh_domain::{EventKind, Exchange, FeedGap, Market, MarketEvent};
use tickmesh_proto::routing::{LIVE_PREFIX, live_pattern};

/// What a stream client asked for. An empty set matches everything on that axis, so the
/// default filter matches every event.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TickFilter {
    /// Exchanges to include; empty means all.
    pub exchanges: BTreeSet<Exchange>,
    /// Markets to include; empty means all.
    pub markets: BTreeSet<Market>,
    /// Event kinds to include; empty means all.
    pub kinds: BTreeSet<EventKind>,
}

impl TickFilter {
    /// The filter that matches everything.
    pub fn all() -> TickFilter {
        TickFilter::default()
    }

    /// The narrowest live channel patterns whose union holds every matching event: one per
    /// exchange and market when both are given, one per exchange or per market when only one
    /// axis is, else `tickmesh:live:*`. Sorted, without duplicates.
    pub fn patterns(&self) -> Vec<String> {
        if self.exchanges.is_empty() && self.markets.is_empty() {
            return vec![format!("{LIVE_PREFIX}*")];
        }
        let exchanges: Vec<Option<Exchange>> = if self.exchanges.is_empty() {
            vec![None]
        } else {
            self.exchanges.iter().copied().map(Some).collect()
        };
        let markets: Vec<Option<&Market>> = if self.markets.is_empty() {
            vec![None]
        } else {
            self.markets.iter().map(Some).collect()
        };
        let patterns: BTreeSet<String> = exchanges
            .iter()
            .flat_map(|&e| markets.iter().map(move |&m| live_pattern(e, m)))
            .collect();
        patterns.into_iter().collect()
    }

    /// Whether `event` passes every axis of the filter.
    pub fn matches(&self, event: &MarketEvent) -> bool {
        self.matches_feed(event.exchange, &event.market) && self.wants_kind(event.kind())
    }

    /// Whether events of `kind` pass the kinds axis (the only axis the hub's index does not
    /// decide).
    pub fn wants_kind(&self, kind: EventKind) -> bool {
        self.kinds.is_empty() || self.kinds.contains(&kind)
    }

    /// Whether a gap concerns this client: its exchange and market pass the filter. Kinds do
    /// not count, as an outage interrupts every kind of a feed.
    pub fn matches_gap(&self, gap: &FeedGap) -> bool {
        self.matches_feed(gap.exchange, &gap.market)
    }

    fn matches_feed(&self, exchange: Exchange, market: &Market) -> bool {
        (self.exchanges.is_empty() || self.exchanges.contains(&exchange))
            && (self.markets.is_empty() || self.markets.contains(market))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use tickmesh_bus::channel_matches;
    use tickmesh_domain::{OrderBook, Payload, Ticker, UtcMicros};
    use tickmesh_proto::routing::live_channel;

    use super::*;

    fn market(text: &str) -> Market {
        Market::parse(text).unwrap()
    }

    fn event(exchange: Exchange, text: &str, payload: Payload) -> MarketEvent {
        MarketEvent {
            exchange,
            market: market(text),
            exchange_time: UtcMicros(1),
            received_time: UtcMicros(2),
            payload,
            raw: None,
        }
    }

    fn filter(exchanges: &[Exchange], markets: &[&str], kinds: &[EventKind]) -> TickFilter {
        TickFilter {
            exchanges: exchanges.iter().copied().collect(),
            markets: markets.iter().map(|m| market(m)).collect(),
            kinds: kinds.iter().copied().collect(),
        }
    }

    #[test]
    fn patterns_are_the_narrowest_cover() {
        assert_eq!(TickFilter::all().patterns(), ["tickmesh:live:*"]);
        assert_eq!(
            filter(&[], &[], &[EventKind::Trade]).patterns(),
            ["tickmesh:live:*"]
        );
        assert_eq!(
            filter(&[Exchange::Korbit, Exchange::Upbit], &[], &[]).patterns(),
            ["tickmesh:live:korbit:*", "tickmesh:live:upbit:*"]
        );
        assert_eq!(
            filter(&[], &["KRW-BTC", "eth_krw"], &[]).patterns(),
            ["tickmesh:live:*:BTC/KRW", "tickmesh:live:*:ETH/KRW"]
        );
        assert_eq!(
            filter(
                &[Exchange::Upbit, Exchange::Bithumb],
                &["BTC", "ETH/KRW"],
                &[]
            )
            .patterns(),
            [
                "tickmesh:live:bithumb:BTC/KRW",
                "tickmesh:live:bithumb:ETH/KRW",
                "tickmesh:live:upbit:BTC/KRW",
                "tickmesh:live:upbit:ETH/KRW",
            ]
        );
    }

    #[test]
    fn patterns_cover_exactly_the_channels_of_matching_feeds() {
        let f = filter(&[Exchange::Upbit], &["BTC/KRW", "XRP/KRW"], &[]);
        let patterns = f.patterns();
        for exchange in Exchange::ALL {
            for m in ["BTC/KRW", "ETH/KRW", "XRP/KRW"] {
                let channel = live_channel(exchange, &market(m));
                let covered = patterns.iter().any(|p| channel_matches(p, &channel));
                let ticker = event(exchange, m, Payload::Ticker(Ticker::default()));
                assert_eq!(covered, f.matches(&ticker), "{channel}");
            }
        }
    }

    #[test]
    fn matching_checks_every_axis() {
        let book = event(
            Exchange::Bithumb,
            "ETH/KRW",
            Payload::OrderBook(OrderBook::default()),
        );
        assert!(TickFilter::all().matches(&book));
        assert!(filter(&[Exchange::Bithumb], &[], &[]).matches(&book));
        assert!(!filter(&[Exchange::Upbit], &[], &[]).matches(&book));
        assert!(filter(&[], &["KRW-ETH"], &[]).matches(&book));
        assert!(!filter(&[], &["BTC"], &[]).matches(&book));
        assert!(filter(&[], &[], &[EventKind::OrderBook, EventKind::Trade]).matches(&book));
        assert!(!filter(&[], &[], &[EventKind::Ticker]).matches(&book));
        assert!(!filter(&[Exchange::Bithumb], &["ETH"], &[EventKind::Trade]).matches(&book));
    }

    #[test]
    fn gaps_match_on_exchange_and_market_whatever_the_kinds() {
        let gap = FeedGap {
            exchange: Exchange::Korbit,
            market: market("BTC/KRW"),
            from: UtcMicros(1),
            to: UtcMicros(2),
            backfilled_trades: 3,
            complete: true,
        };
        assert!(TickFilter::all().matches_gap(&gap));
        assert!(filter(&[Exchange::Korbit], &[], &[EventKind::Ticker]).matches_gap(&gap));
        assert!(!filter(&[Exchange::Upbit], &[], &[]).matches_gap(&gap));
        assert!(!filter(&[], &["ETH"], &[]).matches_gap(&gap));
    }
}
