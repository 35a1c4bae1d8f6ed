//! `tickmesh simulate`: the three exchange simulators for people, on loopback ports.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use anyhow::Context as _;
use tickmesh_domain::{Exchange, Market};
use tickmesh_simulator::{ExchangeClock, MAX_WARP_SPEED, Simulator, SimulatorConfig};

/// Options of `tickmesh simulate`.
#[derive(Debug, clap::Args)]
pub struct SimulateArgs {
    /// Loopback port of the Upbit simulator (0 picks a free one).
    #[arg(long, default_value_t = 7301, value_name = "PORT")]
    upbit_port: u16,
    /// Loopback port of the Bithumb simulator (0 picks a free one).
    #[arg(long, default_value_t = 7302, value_name = "PORT")]
    bithumb_port: u16,
    /// Loopback port of the Korbit simulator (0 picks a free one).
    #[arg(long, default_value_t = 7303, value_name = "PORT")]
    korbit_port: u16,
    /// Listed markets, comma-separated, in any spelling (BTC, KRW-ETH, xrp_krw, SOL/KRW).
    #[arg(long, value_delimiter = ',', default_value = "BTC,ETH,XRP,SOL,DOGE")]
    markets: Vec<String>,
    /// Trades per second per exchange, across its markets (each also moves its ticker, and
    /// every third its order book).
    #[arg(long, default_value_t = 20.0, value_name = "N")]
    rate: f64,
    /// Seed of the price walks: the same seed replays the same market.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Start the exchanges' clocks this far in the past, such as 1h: every timestamp they
    /// emit (WebSocket and REST) reads that clock, which runs --warp-speed times faster than
    /// real time until it reaches it, then follows it.
    #[arg(long, value_parser = tickmesh_bootstrap::config::parse_duration, value_name = "DURATION")]
    warp_back: Option<Duration>,
    /// How many times faster than real time the clocks run while behind (1 to 100000; 1 keeps
    /// them --warp-back behind for good).
    #[arg(long, default_value_t = 1, value_name = "N", requires = "warp_back",
          value_parser = clap::value_parser!(u32).range(1..=i64::from(MAX_WARP_SPEED)))]
    warp_speed: u32,
}

/// The markets `tickmesh simulate` and `tickmesh up --simulate` list by default.
pub const DEFAULT_MARKETS: [&str; 5] = ["BTC", "ETH", "XRP", "SOL", "DOGE"];

/// Starts the three simulators on free loopback ports for `tickmesh up --simulate` and points
/// ingestion at them; with no `ingestion.markets` configured it collects every simulated
/// market.
pub async fn start_for(
    ingestion: &mut tickmesh_ingestion::IngestionConfig,
    rate: f64,
) -> anyhow::Result<Vec<Simulator>> {
    if ingestion.markets.is_empty() {
        ingestion.markets = DEFAULT_MARKETS
            .iter()
            .map(|m| Market::parse(m))
            .collect::<Result<_, _>>()
            .context("the default simulated markets")?;
    }
    let markets: Vec<Market> = ingestion.markets.iter().copied().collect();
    let mut simulators = Vec::new();
    ingestion.exchanges.clear();
    for exchange in Exchange::ALL {
        let mut config = SimulatorConfig::new(markets.clone());
        config.trades_per_second = rate;
        // Nothing reads the emission log here, and it would only grow.
        config.keep_emitted = false;
        let simulator =
            Simulator::bind(exchange, config, SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
                .await
                .with_context(|| format!("cannot start the {exchange} simulator on loopback"))?;
        tracing::info!(
            %exchange, ws = %simulator.ws_url(), rest = %simulator.rest_url(),
            "simulated {exchange} at {}", simulator.ws_url()
        );
        ingestion.exchanges.push(tickmesh_ingestion::ExchangeFeed {
            exchange,
            endpoints: tickmesh_feeds::Endpoints {
                ws_url: simulator.ws_url(),
                rest_url: simulator.rest_url(),
            },
        });
        simulators.push(simulator);
    }
    Ok(simulators)
}

pub fn run(args: SimulateArgs) -> anyhow::Result<()> {
    let markets = args
        .markets
        .iter()
        .map(|m| Market::parse(m).with_context(|| format!("--markets: cannot read `{m}`")))
        .collect::<anyhow::Result<Vec<_>>>()?;
    if !(args.rate >= 0.0 && args.rate.is_finite()) {
        anyhow::bail!("--rate must be a number of trades per second, 0 or more");
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the tokio runtime")?;
    // One clock for the three exchanges, so that they agree on the time.
    let clock = match args.warp_back {
        Some(back) => ExchangeClock::warped(back, args.warp_speed),
        None => ExchangeClock::real(),
    };
    runtime.block_on(async move {
        let mut simulators = Vec::new();
        for (exchange, port) in [
            (Exchange::Upbit, args.upbit_port),
            (Exchange::Bithumb, args.bithumb_port),
            (Exchange::Korbit, args.korbit_port),
        ] {
            let mut config = SimulatorConfig::new(markets.clone());
            config.trades_per_second = args.rate;
            config.seed = args.seed;
            config.clock = clock.clone();
            // Nothing reads the emission log of a standalone simulator, and it would only grow.
            config.keep_emitted = false;
            let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
            let simulator = Simulator::bind(exchange, config, addr).await.with_context(|| {
                format!("cannot listen on {addr} for the {exchange} simulator (pick another port with --{exchange}-port, or 0)")
            })?;
            println!(
                "{:<8} websocket {:<40} rest {}",
                exchange.as_str(),
                simulator.ws_url(),
                simulator.rest_url()
            );
            simulators.push(simulator);
        }
        let names: Vec<String> = markets.iter().map(ToString::to_string).collect();
        println!("markets: {}; {} trades/s per exchange; seed {}; Ctrl-C stops", names.join(", "), args.rate, args.seed);
        if let Some(back) = args.warp_back.filter(|_| !clock.is_real()) {
            println!("{}", warp_line(back, args.warp_speed, clock.catch_up()));
        }
        let signal = tickmesh_bootstrap::terminate_signal().context("cannot install signal handlers")?;
        signal.await;
        for simulator in simulators {
            simulator.shutdown().await;
        }
        Ok(())
    })
}

/// What `tickmesh simulate` says about a warped clock.
fn warp_line(back: Duration, speed: u32, catch_up: Option<Duration>) -> String {
    let pace = match catch_up {
        Some(after) => format!(
            "{speed}x real time, reaching it in {:.1} s",
            after.as_secs_f64()
        ),
        None => "real speed, staying behind".to_owned(),
    };
    format!(
        "exchange clocks start {back:?} in the past at {pace}; collectors accept live events that old only with ingestion.max_clock_skew above it"
    )
}
