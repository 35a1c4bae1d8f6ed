//! The bench's exchanges: the three simulators in this process, paused until the mesh is
//! connected, then generating a chosen number of events per second across all three.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use tickmesh_domain::{Exchange, Market};
use tickmesh_simulator::{Generated, Simulator, SimulatorConfig};

/// Events a simulator generates per trade: the trade, its ticker, and every third round a book.
const EVENTS_PER_TRADE: f64 = 7.0 / 3.0;

/// The three simulators.
#[derive(Debug)]
pub(crate) struct Feeds {
    sims: Vec<Simulator>,
    markets: Vec<Market>,
}

/// The markets a run lists: the five majors first, then made-up `M001/KRW`, `M002/KRW`...
pub(crate) fn markets(count: usize) -> anyhow::Result<Vec<Market>> {
    const MAJORS: [&str; 5] = ["BTC", "ETH", "XRP", "SOL", "DOGE"];
    (0..count.max(1))
        .map(|i| {
            let name = MAJORS.get(i).map_or_else(
                || format!("M{:03}", i - MAJORS.len() + 1),
                |m| (*m).to_owned(),
            );
            Market::parse(&name).with_context(|| format!("cannot make market `{name}`"))
        })
        .collect()
}

impl Feeds {
    /// Starts the simulators on loopback, paused, sharing `rate` events per second evenly.
    pub(crate) async fn start(markets: Vec<Market>, rate: u32) -> anyhow::Result<Feeds> {
        let trades_per_exchange = f64::from(rate) / EVENTS_PER_TRADE / Exchange::ALL.len() as f64;
        let mut sims = Vec::new();
        for exchange in Exchange::ALL {
            let mut config = SimulatorConfig::new(markets.clone());
            config.trades_per_second = trades_per_exchange;
            // Wake every millisecond so a high rate leaves in small bursts, as exchanges send.
            config.generate_every = Duration::from_millis(1);
            config.history_capacity = 1_000;
            let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
            let sim = Simulator::bind(exchange, config, addr)
                .await
                .with_context(|| format!("cannot start the {exchange} simulator"))?;
            sim.pause();
            sims.push(sim);
        }
        Ok(Feeds { sims, markets })
    }

    /// The listed markets.
    pub(crate) fn markets(&self) -> &[Market] {
        &self.markets
    }

    /// Every (exchange, market) pair.
    pub(crate) fn pairs(&self) -> Vec<(Exchange, Market)> {
        Exchange::ALL
            .iter()
            .flat_map(|&e| self.markets.iter().map(move |&m| (e, m)))
            .collect()
    }

    /// The configuration that points ingestion at the simulators and collects every market.
    pub(crate) fn ingestion_env(&self) -> Vec<(String, String)> {
        let names: Vec<String> = self.markets.iter().map(ToString::to_string).collect();
        let mut env = vec![
            ("TICKMESH__INGESTION__MARKETS".to_owned(), names.join(",")),
            (
                "TICKMESH__INGESTION__EXCHANGES".to_owned(),
                "upbit,bithumb,korbit".to_owned(),
            ),
        ];
        for sim in &self.sims {
            let name = sim.exchange().as_str().to_ascii_uppercase();
            env.push((format!("TICKMESH__INGESTION__{name}__WS_URL"), sim.ws_url()));
            env.push((
                format!("TICKMESH__INGESTION__{name}__REST_URL"),
                sim.rest_url(),
            ));
        }
        env
    }

    /// Waits until ingestion subscribes every market on every exchange.
    pub(crate) async fn wait_subscribed(&self, timeout: Duration) -> anyhow::Result<()> {
        let deadline = Instant::now() + timeout;
        loop {
            let missing: Vec<String> = self
                .sims
                .iter()
                .filter_map(|sim| {
                    let subscribed = sim.subscribed_markets();
                    let absent = self
                        .markets
                        .iter()
                        .filter(|m| !subscribed.contains(m))
                        .count();
                    (absent > 0).then(|| format!("{} ({absent} markets)", sim.exchange()))
                })
                .collect();
            if missing.is_empty() {
                return Ok(());
            }
            if Instant::now() >= deadline {
                anyhow::bail!(
                    "ingestion did not subscribe within {timeout:?}: missing on {}",
                    missing.join(", ")
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Starts generating.
    pub(crate) fn resume(&self) {
        self.sims.iter().for_each(Simulator::resume);
    }

    /// Stops generating.
    pub(crate) fn pause(&self) {
        self.sims.iter().for_each(Simulator::pause);
    }

    fn sim(&self, exchange: Exchange) -> Option<&Simulator> {
        self.sims.iter().find(|s| s.exchange() == exchange)
    }

    /// What was generated for one pair so far.
    pub(crate) fn generated(&self, exchange: Exchange, market: Market) -> Generated {
        self.sim(exchange)
            .map(|s| s.generated(market))
            .unwrap_or_default()
    }

    /// What was generated across every pair so far.
    pub(crate) fn generated_total(&self) -> Generated {
        self.pairs()
            .into_iter()
            .map(|(e, m)| self.generated(e, m))
            .fold(Generated::default(), |a, b| Generated {
                events: a.events + b.events,
                trades: a.trades + b.trades,
            })
    }

    /// Events the simulators skipped for connections that fell too far behind.
    pub(crate) fn frames_dropped(&self) -> u64 {
        self.sims.iter().map(Simulator::frames_dropped).sum()
    }

    /// When trade `id` of the pair was generated.
    pub(crate) fn emitted_at(
        &self,
        exchange: Exchange,
        market: Market,
        id: u64,
    ) -> Option<Instant> {
        self.sim(exchange)?.emitted_at(market, id)
    }

    /// The pair's trades after the first `skip` with ids up to `through`, with when each was
    /// generated.
    pub(crate) fn emissions(
        &self,
        exchange: Exchange,
        market: Market,
        skip: usize,
        through: u64,
    ) -> Vec<(u64, Instant)> {
        self.sim(exchange)
            .map(|s| s.emissions(market, skip, through))
            .unwrap_or_default()
    }

    /// Stops the simulators.
    pub(crate) async fn shutdown(self) {
        for sim in self.sims {
            sim.shutdown().await;
        }
    }
}
