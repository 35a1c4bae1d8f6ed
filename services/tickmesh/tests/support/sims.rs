//! The three exchange simulators, in the test process so the test can ask them what they
//! emitted.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::time::Duration;

use tickmesh_domain::{Exchange, Market};
use tickmesh_simulator::{ExchangeClock, Simulator, SimulatorConfig};

/// Simulators of all three exchanges over the same markets.
pub struct Sims {
    /// One per exchange.
    pub all: Vec<Simulator>,
    /// The markets listed.
    pub markets: Vec<Market>,
}

impl Sims {
    /// Starts paused simulators emitting `rate` trades per second each once resumed.
    pub async fn start(markets: &[&str], rate: f64) -> Sims {
        Sims::start_with_clock(markets, rate, ExchangeClock::real()).await
    }

    /// As [`Sims::start`], every exchange's time read from `clock` (one clock, so the three
    /// agree).
    pub async fn start_with_clock(markets: &[&str], rate: f64, clock: ExchangeClock) -> Sims {
        let markets: Vec<Market> = markets.iter().map(|m| Market::parse(m).unwrap()).collect();
        let mut all = Vec::new();
        for exchange in Exchange::ALL {
            let mut config = SimulatorConfig::new(markets.clone());
            config.trades_per_second = rate;
            config.clock = clock.clone();
            let sim = Simulator::bind(exchange, config, SocketAddr::from(([127, 0, 0, 1], 0)))
                .await
                .unwrap();
            sim.pause();
            all.push(sim);
        }
        Sims { all, markets }
    }

    /// The environment pointing ingestion at the simulators and their markets.
    pub fn ingestion_env(&self) -> Vec<(String, String)> {
        let mut env = Vec::new();
        for sim in &self.all {
            let e = sim.exchange().as_str().to_ascii_uppercase();
            env.push((format!("TICKMESH__INGESTION__{e}__WS_URL"), sim.ws_url()));
            env.push((
                format!("TICKMESH__INGESTION__{e}__REST_URL"),
                sim.rest_url(),
            ));
        }
        let names: Vec<String> = self.markets.iter().map(ToString::to_string).collect();
        env.push(("TICKMESH__INGESTION__MARKETS".to_owned(), names.join(",")));
        env
    }

    /// Waits until every simulator has a connection, then lets the subscriptions settle.
    pub async fn wait_connected(&self) {
        super::eventually(
            "ingestion to connect to every simulator",
            Duration::from_secs(20),
            || async { self.all.iter().all(|s| s.connections() >= 1).then_some(()) },
        )
        .await;
        tokio::time::sleep(Duration::from_millis(1_500)).await;
    }

    /// Starts generating.
    pub fn resume(&self) {
        self.all.iter().for_each(Simulator::resume);
    }

    /// Stops generating.
    pub fn pause(&self) {
        self.all.iter().for_each(Simulator::pause);
    }

    /// Every trade emitted as `(exchange, market, trade_id)`, sorted.
    pub fn emitted(&self) -> Vec<(String, String, i64)> {
        let mut out = BTreeSet::new();
        for sim in &self.all {
            for market in &self.markets {
                for id in sim.emitted_trades(*market) {
                    out.insert((
                        sim.exchange().as_str().to_owned(),
                        market.to_string(),
                        i64::try_from(id).unwrap(),
                    ));
                }
            }
        }
        out.into_iter().collect()
    }
}
