//! Checking requested markets against the exchange's own market list, so an unknown market is
//! refused with a clear error instead of being silently ignored (as Upbit and Bithumb do).

use std::collections::BTreeSet;

use tickmesh_domain::{Exchange, Market};

use crate::protocol::{RestError, TradeHistory};

/// The markets an exchange listed when asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MarketList {
    exchange: Exchange,
    markets: BTreeSet<Market>,
}

/// Markets the exchange does not list.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{} not listed on {exchange} ({listed} markets listed); check the symbol", names(.unknown))]
pub struct UnknownMarkets {
    /// The exchange asked.
    pub exchange: Exchange,
    /// The markets it does not list.
    pub unknown: Vec<Market>,
    /// How many it lists.
    pub listed: usize,
}

fn names(markets: &[Market]) -> String {
    let list: Vec<String> = markets.iter().map(ToString::to_string).collect();
    let verb = if list.len() == 1 { "is" } else { "are" };
    format!("{} {verb}", list.join(", "))
}

impl MarketList {
    /// Fetches the list from the exchange's REST API.
    pub async fn fetch(exchange: Exchange, history: &dyn TradeHistory) -> Result<Self, RestError> {
        Ok(Self::new(exchange, history.markets().await?))
    }

    /// A list from known markets.
    pub fn new(exchange: Exchange, markets: impl IntoIterator<Item = Market>) -> Self {
        Self {
            exchange,
            markets: markets.into_iter().collect(),
        }
    }

    /// Whether `market` is listed.
    pub fn contains(&self, market: Market) -> bool {
        self.markets.contains(&market)
    }

    /// `Ok` when every market of `wanted` is listed, otherwise all the ones that are not.
    pub fn check<'a>(
        &self,
        wanted: impl IntoIterator<Item = &'a Market>,
    ) -> Result<(), UnknownMarkets> {
        let unknown: Vec<Market> = wanted
            .into_iter()
            .filter(|m| !self.contains(**m))
            .copied()
            .collect();
        if unknown.is_empty() {
            Ok(())
        } else {
            Err(UnknownMarkets {
                exchange: self.exchange,
                unknown,
                listed: self.markets.len(),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_markets_are_all_named() {
        let m = |s: &str| Market::parse(s).unwrap();
        let list = MarketList::new(Exchange::Upbit, [m("BTC"), m("ETH")]);
        assert!(list.check(&[m("BTC")]).is_ok());
        let err = list.check(&[m("BTC"), m("NOPE"), m("ZZZ")]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "NOPE/KRW, ZZZ/KRW are not listed on upbit (2 markets listed); check the symbol"
        );
    }
}
