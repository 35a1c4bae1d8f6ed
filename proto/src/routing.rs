//! The names market events travel under on the bus (docs/architecture.md): the live channels,
//! the durable stream and its consumer group, and the Kafka topics. Every service takes them
//! from here so producer and consumer cannot drift apart.

use tickmesh_domain::{EventKind, Exchange, Market};

/// Prefix of every live pub/sub channel.
pub const LIVE_PREFIX: &str = "tickmesh:live:";
/// Prefix of the live channels that carry feed gaps (payload: protobuf `stream.v1.Gap`).
pub const GAP_PREFIX: &str = "tickmesh:gaps:";
/// The pattern of every gap channel.
pub const GAP_PATTERN: &str = "tickmesh:gaps:*";
/// The durable stream ingestion appends to and the bridge reads.
pub const EVENTS_STREAM: &str = "tickmesh:events";
/// The bridge's consumer group on [`EVENTS_STREAM`].
pub const BRIDGE_GROUP: &str = "bridge";
/// Kafka topic of trades.
pub const TRADES_TOPIC: &str = "tickmesh.trades";
/// Kafka topic of tickers.
pub const TICKERS_TOPIC: &str = "tickmesh.tickers";
/// Kafka topic of order books.
pub const ORDERBOOKS_TOPIC: &str = "tickmesh.orderbooks";
/// Where records nobody could decode go, with the reason in a header, instead of vanishing.
pub const DLQ_TOPIC: &str = "tickmesh.dlq";
/// Header naming why a record went to [`DLQ_TOPIC`].
pub const ERROR_HEADER: &str = "tickmesh-error";
/// The storage service's consumer group on the market topics.
pub const STORAGE_GROUP: &str = "storage";
/// The market topics, in [`EventKind::ALL`] order.
pub const MARKET_TOPICS: [&str; 3] = [TICKERS_TOPIC, TRADES_TOPIC, ORDERBOOKS_TOPIC];

/// The live channel of one market on one exchange: `tickmesh:live:upbit:BTC/KRW`.
pub fn live_channel(exchange: Exchange, market: &Market) -> String {
    format!("{LIVE_PREFIX}{exchange}:{market}")
}

/// The live channel of one market's feed gaps: `tickmesh:gaps:upbit:BTC/KRW`.
pub fn gap_channel(exchange: Exchange, market: &Market) -> String {
    format!("{GAP_PREFIX}{exchange}:{market}")
}

/// A live channel pattern (`*` matches anything) for an exchange, a market, both or neither.
pub fn live_pattern(exchange: Option<Exchange>, market: Option<&Market>) -> String {
    let exchange = exchange.map_or_else(|| "*".to_owned(), |e| e.to_string());
    let market = market.map_or_else(|| "*".to_owned(), ToString::to_string);
    format!("{LIVE_PREFIX}{exchange}:{market}")
}

/// The Kafka topic of an event kind.
pub const fn topic_for(kind: EventKind) -> &'static str {
    match kind {
        EventKind::Ticker => TICKERS_TOPIC,
        EventKind::Trade => TRADES_TOPIC,
        EventKind::OrderBook => ORDERBOOKS_TOPIC,
    }
}

/// The Kafka topic names in use: the defaults above, or the same names behind a prefix so
/// several deployments (or test runs) can share one cluster (`bus.topic_prefix`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicNames {
    /// Trades.
    pub trades: String,
    /// Tickers.
    pub tickers: String,
    /// Order books.
    pub orderbooks: String,
    /// Dead letters.
    pub dlq: String,
}

impl Default for TopicNames {
    fn default() -> Self {
        TopicNames::with_prefix("")
    }
}

impl TopicNames {
    /// The default names, each preceded by `prefix` (`staging.` gives `staging.tickmesh.trades`).
    pub fn with_prefix(prefix: &str) -> TopicNames {
        TopicNames {
            trades: format!("{prefix}{TRADES_TOPIC}"),
            tickers: format!("{prefix}{TICKERS_TOPIC}"),
            orderbooks: format!("{prefix}{ORDERBOOKS_TOPIC}"),
            dlq: format!("{prefix}{DLQ_TOPIC}"),
        }
    }

    /// The topic of an event kind.
    pub fn for_kind(&self, kind: EventKind) -> &str {
        match kind {
            EventKind::Ticker => &self.tickers,
            EventKind::Trade => &self.trades,
            EventKind::OrderBook => &self.orderbooks,
        }
    }

    /// The three market topics.
    pub fn market(&self) -> [&str; 3] {
        [&self.tickers, &self.trades, &self.orderbooks]
    }

    /// Every topic, dead letters included.
    pub fn all(&self) -> [&str; 4] {
        [&self.tickers, &self.trades, &self.orderbooks, &self.dlq]
    }
}

/// The ordering key of a market's events: `{exchange}:{market}`, so one market stays in order
/// on one partition.
pub fn partition_key(exchange: Exchange, market: &Market) -> String {
    format!("{exchange}:{market}")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn names_follow_the_design() {
        let btc = Market::parse("KRW-BTC").unwrap();
        assert_eq!(
            live_channel(Exchange::Upbit, &btc),
            "tickmesh:live:upbit:BTC/KRW"
        );
        assert_eq!(live_pattern(None, Some(&btc)), "tickmesh:live:*:BTC/KRW");
        assert_eq!(
            live_pattern(Some(Exchange::Korbit), None),
            "tickmesh:live:korbit:*"
        );
        assert_eq!(partition_key(Exchange::Bithumb, &btc), "bithumb:BTC/KRW");
        for (kind, topic) in EventKind::ALL.into_iter().zip(MARKET_TOPICS) {
            assert_eq!(topic_for(kind), topic);
            assert_eq!(TopicNames::default().for_kind(kind), topic);
        }
        let staging = TopicNames::with_prefix("staging.");
        assert_eq!(
            staging.for_kind(EventKind::Trade),
            "staging.tickmesh.trades"
        );
        assert_eq!(staging.all()[3], "staging.tickmesh.dlq");
    }
}
