//! [`MarketCatalog`]: which markets each exchange lists, so subscriptions to markets an exchange
//! does not trade are refused instead of silently ignored (as Upbit and Bithumb do).
//!
//! Built from the exchanges' REST market lists (the same request
//! [`MarketList::fetch`](tickmesh_feeds::MarketList::fetch) makes, kept as a set so the
//! catalog can also say what it holds), or from fixed lists in tests and offline runs.

use std::collections::{BTreeMap, BTreeSet};

use tickmesh_domain::{Exchange, Market};
use tickmesh_feeds::{MarketList, RestClient, RestError, TradeHistory, UnknownMarkets};

/// An exchange's market list could not be fetched.
#[derive(Debug, thiserror::Error)]
#[error("cannot fetch the market list of {exchange}")]
pub struct CatalogError {
    /// The exchange asked.
    pub exchange: Exchange,
    /// Why it failed.
    #[source]
    pub source: RestError,
}

/// The markets each exchange lists. An exchange the catalog was not given lists nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MarketCatalog {
    markets: BTreeMap<Exchange, BTreeSet<Market>>,
}

impl MarketCatalog {
    /// A catalog of fixed lists; an exchange given twice lists the union.
    pub fn new<M>(lists: impl IntoIterator<Item = (Exchange, M)>) -> MarketCatalog
    where
        M: IntoIterator<Item = Market>,
    {
        let mut markets: BTreeMap<Exchange, BTreeSet<Market>> = BTreeMap::new();
        for (exchange, list) in lists {
            markets.entry(exchange).or_default().extend(list);
        }
        MarketCatalog { markets }
    }

    /// Asks each exchange in `sources` for its market list; fails on the first that cannot
    /// answer, naming it.
    pub async fn fetch(
        sources: &[(Exchange, &dyn TradeHistory)],
    ) -> Result<MarketCatalog, CatalogError> {
        let mut lists = Vec::with_capacity(sources.len());
        for (exchange, history) in sources {
            let markets = history.markets().await.map_err(|source| CatalogError {
                exchange: *exchange,
                source,
            })?;
            lists.push((*exchange, markets));
        }
        Ok(MarketCatalog::new(lists))
    }

    /// Asks each exchange at its REST base URL (production or a simulator).
    pub async fn fetch_rest(
        urls: impl IntoIterator<Item = (Exchange, String)>,
    ) -> Result<MarketCatalog, CatalogError> {
        let mut clients = Vec::new();
        for (exchange, url) in urls {
            let client = RestClient::new(exchange, url)
                .map_err(|source| CatalogError { exchange, source })?;
            clients.push((exchange, client));
        }
        let sources: Vec<(Exchange, &dyn TradeHistory)> = clients
            .iter()
            .map(|(exchange, client)| (*exchange, client as &dyn TradeHistory))
            .collect();
        MarketCatalog::fetch(&sources).await
    }

    /// Whether `exchange` lists `market`.
    pub fn lists(&self, exchange: Exchange, market: Market) -> bool {
        self.markets
            .get(&exchange)
            .is_some_and(|markets| markets.contains(&market))
    }

    /// The markets `exchange` lists, sorted.
    pub fn markets(&self, exchange: Exchange) -> Vec<Market> {
        self.markets
            .get(&exchange)
            .map(|markets| markets.iter().copied().collect())
            .unwrap_or_default()
    }

    /// The exchanges listing `market`, in [`Exchange::ALL`] order.
    pub fn exchanges_listing(&self, market: Market) -> Vec<Exchange> {
        Exchange::ALL
            .into_iter()
            .filter(|exchange| self.lists(*exchange, market))
            .collect()
    }

    /// `Ok` when `exchange` lists `market`, otherwise the error the feeds give for it.
    pub fn check(&self, exchange: Exchange, market: Market) -> Result<(), UnknownMarkets> {
        self.market_list(exchange).check([&market])
    }

    /// The list of `exchange` in the form the feeds check requests against.
    pub fn market_list(&self, exchange: Exchange) -> MarketList {
        MarketList::new(exchange, self.markets(exchange))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn m(text: &str) -> Market {
        Market::parse(text).unwrap()
    }

    #[test]
    fn lists_per_exchange_and_names_unknown_markets() {
        let catalog = MarketCatalog::new([
            (Exchange::Upbit, vec![m("BTC"), m("ETH")]),
            (Exchange::Korbit, vec![m("BTC")]),
        ]);
        assert!(catalog.lists(Exchange::Upbit, m("ETH")));
        assert!(!catalog.lists(Exchange::Korbit, m("ETH")));
        assert!(!catalog.lists(Exchange::Bithumb, m("BTC")));
        assert_eq!(
            catalog.exchanges_listing(m("BTC")),
            [Exchange::Upbit, Exchange::Korbit]
        );
        assert_eq!(catalog.markets(Exchange::Upbit), [m("BTC"), m("ETH")]);
        let err = catalog.check(Exchange::Korbit, m("ETH")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "ETH/KRW is not listed on korbit (1 markets listed); check the symbol"
        );
    }
}
