//! The market catalog fetched over REST from the three exchange simulators, and the service
//! refusing what they do not list.

// Helpers outside #[test] functions unwrap too: a panic is how a test reports failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use tickmesh_domain::{Exchange, Market};
use tickmesh_simulator::{Simulator, SimulatorConfig};
use tickmesh_subscription::subscriptions::{
    MarketCatalog, MemoryStore, SubscriptionError, Subscriptions,
};

fn m(text: &str) -> Market {
    Market::parse(text).unwrap()
}

fn listed(exchange: Exchange) -> Vec<Market> {
    match exchange {
        Exchange::Upbit => vec![m("BTC"), m("ETH"), m("XRP"), m("BTC/USDT")],
        Exchange::Bithumb => vec![m("BTC"), m("ETH")],
        Exchange::Korbit => vec![m("BTC"), m("SOL")],
    }
}

async fn simulators() -> Vec<Simulator> {
    let mut simulators = Vec::new();
    for exchange in Exchange::ALL {
        let mut config = SimulatorConfig::new(listed(exchange));
        config.trades_per_second = 0.0;
        let addr = "127.0.0.1:0".parse().unwrap();
        simulators.push(Simulator::bind(exchange, config, addr).await.unwrap());
    }
    simulators
}

#[tokio::test]
async fn the_catalog_from_the_simulators_lists_exactly_their_markets() {
    let simulators = simulators().await;
    let catalog =
        MarketCatalog::fetch_rest(simulators.iter().map(|s| (s.exchange(), s.rest_url())))
            .await
            .unwrap();
    for exchange in Exchange::ALL {
        let mut expected = listed(exchange);
        expected.sort();
        assert_eq!(catalog.markets(exchange), expected, "{exchange}");
    }

    let core = Subscriptions::new(Arc::new(MemoryStore::new()), catalog);
    let added = core.create(None, m("KRW-ETH")).await.unwrap();
    let exchanges: Vec<Exchange> = added.iter().map(|a| a.subscription.exchange).collect();
    assert_eq!(exchanges, [Exchange::Upbit, Exchange::Bithumb]);
    let err = core
        .create(Some(Exchange::Korbit), m("XRP"))
        .await
        .unwrap_err();
    assert!(matches!(err, SubscriptionError::NotListed(_)), "{err:?}");
    for simulator in simulators {
        simulator.shutdown().await;
    }
}

#[tokio::test]
async fn an_exchange_that_cannot_answer_is_named() {
    // Bind a port, then free it, so nothing listens there.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let err = MarketCatalog::fetch_rest([(Exchange::Bithumb, url)])
        .await
        .unwrap_err();
    assert_eq!(err.exchange, Exchange::Bithumb);
    assert_eq!(err.to_string(), "cannot fetch the market list of bithumb");
}
