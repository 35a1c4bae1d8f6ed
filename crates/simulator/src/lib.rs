//! Simulators of the Upbit, Bithumb and Korbit (Digital X) public APIs, faithful to the real
//! exchanges as docs/exchanges.md describes them: WebSocket paths, binary versus text frames,
//! replace versus additive subscriptions, acknowledgements, errors (and the close after them),
//! snapshots then realtime frames, exponent number forms, the text `PING`/`{"status":"UP"}`
//! cycle, Korbit's server pings, and the 60 s idle cut without a close frame. Each serves its
//! REST market list and recent trades on the same port.
//!
//! Markets follow a seeded price walk, so a run replays exactly; every trade id emitted is
//! logged for tests to compare against what a client received. The exchanges' clock is real
//! time, or warped ([`ExchangeClock::warped`]): started in the past and run faster until it
//! reaches real time, for an hour of history in seconds. Faults are injected on demand:
//! drop every connection, stall, send garbage, duplicate frames, send a hostile frame
//! ([`Poison`]), or answer REST slowly ([`Simulator::set_rest_delay`]).
//!
//! # Hostile frames
//!
//! [`Fault::Poison`] sends one frame a broken or malicious endpoint could send, in the
//! exchange's own dialect (binary frames for Upbit and Bithumb in the connection's DEFAULT or
//! SIMPLE keys, text for Korbit), about the first market the connection subscribes to:
//!
//! | kind | frame |
//! |---|---|
//! | [`Poison::NegativeTime`] | a trade dated `-9999999999999999` ms |
//! | [`Poison::FarFuture`] | a trade dated 2100-01-01 |
//! | [`Poison::HugePrice`] | a trade of price `79228162514264337593543950335`, size 3 |
//! | [`Poison::DeepBook`] | an order book of 1,000 levels per side (about 100 KiB) |
//! | [`Poison::DeepNesting`] | a trade whose price is an array nested 10,000 deep |
//! | [`Poison::Unsubscribed`] | a trade of `KRW-FAKE1` (`fake1_krw`), which is not listed |
//! | [`Poison::Oversize`] | a valid trade frame padded past 2 MiB with a long string |
//!
//! Poison trades carry ids from [`POISON_ID_BASE`] up, which no simulated market reaches, and
//! stay out of the REST history and of [`Simulator::emitted_trades`]: a client that refuses
//! every poison receives exactly the emitted trades.

mod clock;
mod engine;
mod http;
mod render;
mod rest;
mod rng;
mod ws;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use tickmesh_domain::{Exchange, Market};
use tokio::net::TcpListener;
use tokio::sync::broadcast;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub use clock::{ExchangeClock, MAX_WARP_SPEED};
pub use engine::{SimBook, SimEvent, SimTicker, SimTrade};
pub use render::poison::POISON_ID_BASE;
pub use rng::Rng;

/// What a simulator serves and how fast.
#[derive(Debug, Clone)]
pub struct SimulatorConfig {
    /// Listed markets.
    pub markets: Vec<Market>,
    /// Trades generated per second across all markets (each also updates its ticker, and every
    /// third its book); `0` generates nothing until [`Simulator::step`] is called.
    pub trades_per_second: f64,
    /// Seed of the price walk.
    pub seed: u64,
    /// Upbit and Bithumb cut a socket with no inbound traffic after this (60 s observed).
    pub idle_cut: Duration,
    /// Period of `{"status":"UP"}` after a text `PING` (10 s).
    pub up_interval: Duration,
    /// Period of Korbit's server pings (30 s).
    pub server_ping_interval: Duration,
    /// Trades kept per market for the REST trade endpoints.
    pub history_capacity: usize,
    /// Log every emitted trade id with its generation time, for [`Simulator::emitted_trades`]
    /// and [`Simulator::emissions`]; a long-running simulator turns it off, since the log
    /// only grows.
    pub keep_emitted: bool,
    /// How often the generator wakes to emit what the rate owes: shorter spreads a high rate
    /// more evenly (10 ms; tokio timers resolve 1 ms).
    pub generate_every: Duration,
    /// The exchange's clock, which every emitted timestamp reads: real time (the default), or
    /// [`ExchangeClock::warped`] to start in the past and catch up with real time at a
    /// multiple of its speed. The generation rate stays per real second. Give simulators
    /// clones of one clock to keep them on the same time.
    pub clock: ExchangeClock,
}

impl SimulatorConfig {
    /// The real exchanges' timings, 20 trades per second, seed 1.
    pub fn new(markets: Vec<Market>) -> Self {
        Self {
            markets,
            trades_per_second: 20.0,
            seed: 1,
            idle_cut: Duration::from_secs(60),
            up_interval: Duration::from_secs(10),
            server_ping_interval: Duration::from_secs(30),
            history_capacity: 100_000,
            keep_emitted: true,
            generate_every: Duration::from_millis(10),
            clock: ExchangeClock::real(),
        }
    }
}

/// What a simulator generated for one market: counts that only grow.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Generated {
    /// Trades, tickers and books (connection snapshots are not generated, so not counted).
    pub events: u64,
    /// Trades.
    pub trades: u64,
}

/// A fault to inject into every open connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Drop the TCP connection without a close frame.
    Drop,
    /// Stop reading and writing for this long.
    Stall(Duration),
    /// Send this many malformed frames.
    Garbage(u32),
    /// Send each of the next this-many data frames twice.
    Duplicate(u32),
    /// Send one hostile frame (see the crate docs).
    Poison(Poison),
}

/// A hostile frame [`Fault::Poison`] sends; see the table in the crate docs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Poison {
    /// A trade dated `-9999999999999999` ms.
    NegativeTime,
    /// A trade dated 2100-01-01.
    FarFuture,
    /// A trade of price `79228162514264337593543950335` (the largest decimal) and size 3.
    HugePrice,
    /// An order book of 1,000 levels per side.
    DeepBook,
    /// A trade whose price is an array nested 10,000 deep (valid JSON a parser must refuse
    /// without recursing that deep).
    DeepNesting,
    /// A trade of a market nobody subscribed (`KRW-FAKE1`, `fake1_krw`).
    Unsubscribed,
    /// A valid trade frame longer than 2 MiB.
    Oversize,
}

impl Poison {
    /// Every kind.
    pub const ALL: [Poison; 7] = [
        Poison::NegativeTime,
        Poison::FarFuture,
        Poison::HugePrice,
        Poison::DeepBook,
        Poison::DeepNesting,
        Poison::Unsubscribed,
        Poison::Oversize,
    ];
}

/// The WebSocket path an exchange serves.
pub fn ws_path(exchange: Exchange) -> &'static str {
    match exchange {
        Exchange::Upbit | Exchange::Bithumb => "/websocket/v1",
        Exchange::Korbit => "/v2/public",
    }
}

/// A running simulator of one exchange.
#[derive(Debug)]
pub struct Simulator {
    exchange: Exchange,
    addr: SocketAddr,
    engine: Arc<engine::Engine>,
    rest: Arc<http::RestState>,
    faults: broadcast::Sender<Fault>,
    paused: Arc<AtomicBool>,
    connections: Arc<AtomicUsize>,
    closed: Arc<AtomicUsize>,
    shutdown: CancellationToken,
    tasks: Vec<JoinHandle<()>>,
}

impl Simulator {
    /// Serves `exchange` on `listener` (bind port 0 in tests).
    pub fn start(
        exchange: Exchange,
        config: SimulatorConfig,
        listener: TcpListener,
    ) -> std::io::Result<Self> {
        let addr = listener.local_addr()?;
        let engine = engine::Engine::new(
            exchange,
            &config.markets,
            config.seed,
            config.history_capacity.max(1),
            if exchange == Exchange::Bithumb {
                15
            } else {
                30
            },
            config.keep_emitted,
            config.clock.clone(),
        );
        let (faults, _) = broadcast::channel(64);
        let shutdown = CancellationToken::new();
        let paused = Arc::new(AtomicBool::new(false));
        let connections = Arc::new(AtomicUsize::new(0));
        let closed = Arc::new(AtomicUsize::new(0));
        let config = Arc::new(config);
        let rest = Arc::new(http::RestState::default());
        let shared = http::Shared {
            engine: engine.clone(),
            config: config.clone(),
            faults: faults.clone(),
            shutdown: shutdown.clone(),
            connections: connections.clone(),
            closed: closed.clone(),
            rest: rest.clone(),
        };
        let mut tasks = vec![tokio::spawn(http::serve(listener, shared))];
        if config.trades_per_second > 0.0 {
            tasks.push(tokio::spawn(generate(
                engine.clone(),
                config.trades_per_second,
                config.generate_every,
                paused.clone(),
                shutdown.clone(),
            )));
        }
        Ok(Self {
            exchange,
            addr,
            engine,
            rest,
            faults,
            paused,
            connections,
            closed,
            shutdown,
            tasks,
        })
    }

    /// Binds `addr` and serves `exchange` there.
    pub async fn bind(
        exchange: Exchange,
        config: SimulatorConfig,
        addr: SocketAddr,
    ) -> std::io::Result<Self> {
        Self::start(exchange, config, TcpListener::bind(addr).await?)
    }

    /// The simulated exchange.
    pub fn exchange(&self) -> Exchange {
        self.exchange
    }

    /// The WebSocket URL, such as `ws://127.0.0.1:41234/websocket/v1`.
    pub fn ws_url(&self) -> String {
        format!("ws://{}{}", self.addr, ws_path(self.exchange))
    }

    /// The REST base URL, such as `http://127.0.0.1:41234`.
    pub fn rest_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every trade id emitted for `market`, in emission order (empty without
    /// [`SimulatorConfig::keep_emitted`]).
    pub fn emitted_trades(&self, market: Market) -> Vec<u64> {
        self.engine.emitted_trades(market)
    }

    /// The trades of `market` emitted after the first `skip` with ids up to `through`, each
    /// with the instant the generator made it (just before its frame is rendered and
    /// written): what a benchmark measures latency from.
    pub fn emissions(
        &self,
        market: Market,
        skip: usize,
        through: u64,
    ) -> Vec<(u64, std::time::Instant)> {
        self.engine.emissions(market, skip, through)
    }

    /// Events (trades, tickers, books; not connection snapshots) and trades generated for
    /// `market` so far.
    pub fn generated(&self, market: Market) -> Generated {
        let (events, trades) = self.engine.generated(market);
        Generated { events, trades }
    }

    /// When trade `id` of `market` was generated, if it was and the log is kept.
    pub fn emitted_at(&self, market: Market, id: u64) -> Option<std::time::Instant> {
        self.engine.emitted_at(market, id)
    }

    /// The trades of `market` still in the history (oldest first, up to `history_capacity`),
    /// as the exchange's frames carry them: Bithumb's sizes at four decimals.
    pub fn trades(&self, market: Market) -> Vec<SimTrade> {
        let mut trades = self
            .engine
            .recent_trades(market, usize::MAX, None)
            .unwrap_or_default();
        trades.reverse();
        for trade in &mut trades {
            trade.size = render::quotation::wire_size(self.exchange, trade.size);
        }
        trades
    }

    /// Every market some open connection subscribes to: what a client asked this exchange for.
    pub fn subscribed_markets(&self) -> std::collections::BTreeSet<Market> {
        self.engine.subscribed()
    }

    /// Stops generating (connections stay open and quiet).
    pub fn pause(&self) {
        self.paused.store(true, Ordering::SeqCst);
    }

    /// Resumes generating.
    pub fn resume(&self) {
        self.paused.store(false, Ordering::SeqCst);
    }

    /// Generates one round by hand (useful with `trades_per_second = 0`).
    pub fn step(&self) -> usize {
        self.engine.step()
    }

    /// The simulated exchange's time now, epoch milliseconds ([`SimulatorConfig::clock`]).
    pub fn now_ms(&self) -> i64 {
        self.engine.now_ms()
    }

    /// Injects `fault` into every open connection.
    pub fn inject(&self, fault: Fault) {
        // No receiver means no open connection: nothing to inject into.
        let _ = self.faults.send(fault);
    }

    /// Delays every REST answer by `delay` from now on (zero: answer at once), as a slow or
    /// stuck exchange would; WebSocket connections are not affected.
    pub fn set_rest_delay(&self, delay: Duration) {
        self.rest.set_delay(delay);
    }

    /// When each REST request arrived, oldest first (the latest 10,000 only).
    pub fn rest_requests(&self) -> Vec<std::time::Instant> {
        self.rest.arrivals()
    }

    /// WebSocket connections that have ended so far (a count that never goes down, so a test
    /// can see a drop even when the client reconnects at once).
    pub fn connections_closed(&self) -> usize {
        self.closed.load(Ordering::SeqCst)
    }

    /// Events connections skipped because their reader fell more than the broadcast buffer
    /// behind (a client this slow loses frames, as on the real exchanges).
    pub fn frames_dropped(&self) -> u64 {
        self.engine.dropped_total()
    }

    /// Open WebSocket connections.
    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }

    /// Stops serving and closes every connection.
    pub async fn shutdown(self) {
        self.shutdown.cancel();
        for task in self.tasks {
            let _ = task.await;
        }
    }
}

/// Generates `rate` rounds per second in batches every `every`, carrying the fraction over.
async fn generate(
    engine: Arc<engine::Engine>,
    rate: f64,
    every: Duration,
    paused: Arc<AtomicBool>,
    shutdown: CancellationToken,
) {
    let mut tick = tokio::time::interval(every.max(Duration::from_millis(1)));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last = tokio::time::Instant::now();
    let mut owed = 0.0_f64;
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            _ = tick.tick() => {}
        }
        let now = tokio::time::Instant::now();
        owed += rate * now.duration_since(last).as_secs_f64();
        last = now;
        if paused.load(Ordering::SeqCst) {
            owed = 0.0;
            continue;
        }
        while owed >= 1.0 {
            owed -= 1.0;
            engine.step();
        }
    }
}
