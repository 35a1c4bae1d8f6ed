//! `tickmesh bench`: the whole mesh under a chosen load, measured the way a user sees it.
//!
//! The bench runs the three exchange simulators in its own process and the services as child
//! processes of the `tickmesh` binary (one `tickmesh up`, or one `tickmesh serve` per service
//! on real Redis, a Kafka-protocol broker and PostgreSQL), so each service's CPU time and peak
//! RSS are its own. It attaches StreamTicks clients, and measures:
//!
//! - **frame to stream client**: from the instant the simulator generated a trade (just
//!   before its frame is rendered and written) to the instant a client decoded it;
//! - **frame to committed row**: from the same instant to the first poll of the database that
//!   sees the row (polls every [`BenchConfig::poll_every`], so these figures are high by up
//!   to one poll period);
//! - **loss**: after the simulators stop, every generated trade must be in the database and
//!   every client must have received every event of the pairs it asked for.
//!
//! `--mode history` ([`run_history`]) measures something else: the `HistoryService` calls
//! against storage over a database filled with a long synthetic history.
//!
//! Latency is measured on trades, which every event kind shares its path with and which
//! alone carry an id to match the generator's log. Errors are `anyhow` with context: the only
//! caller is the command line, and a bench failure is read by a person.

mod clients;
mod dropped;
mod failover;
mod feed;
mod history;
mod latency;
mod mesh;
mod procstat;
mod replay;
mod report;
mod rows;
mod run;
mod usage;

use std::path::PathBuf;
use std::time::Duration;

pub use clients::ClientFilter;
pub use failover::{FailoverFigures, FailoverPlan};
pub use history::{CallFigures, FillFigures, HistoryPlan, HistoryReport, TableFill, run_history};
pub use latency::Percentiles;
pub use replay::{ReplayFigures, ReplayPlan};
pub use report::{ProcessFigures, Report, RowFigures, StreamFigures};
pub use run::{run, run_until};

/// How the mesh is deployed for a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// One `tickmesh up`: in-process bus and a SQLite file (or the configured database).
    Embedded,
    /// `tickmesh serve` per service on Redis, the Kafka-protocol broker and PostgreSQL.
    Distributed,
}

impl Mode {
    /// The name used on the command line and in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Embedded => "embedded",
            Mode::Distributed => "distributed",
        }
    }
}

/// What a run does.
#[derive(Debug, Clone)]
pub struct BenchConfig {
    /// The `tickmesh` binary that runs the services.
    pub exe: PathBuf,
    /// Embedded or distributed.
    pub mode: Mode,
    /// Events per second generated across the three exchanges (trades, tickers and books in
    /// the simulator's 3:3:1 mix).
    pub rate: u32,
    /// Markets each exchange lists and the mesh collects.
    pub markets: usize,
    /// How long the simulators generate.
    pub duration: Duration,
    /// The first part of the run left out of the latency figures (connections warming up).
    pub warmup: Duration,
    /// StreamTicks clients attached to the subscription service.
    pub clients: usize,
    /// What each client asks for.
    pub client_filter: ClientFilter,
    /// Redis of a distributed run.
    pub redis_url: String,
    /// Kafka-protocol brokers of a distributed run.
    pub kafka_brokers: String,
    /// librdkafka properties for the services, `key=value,key=value`.
    pub kafka_options: String,
    /// A PostgreSQL URL whose server gets a fresh database for the run (dropped after it);
    /// `None` in embedded mode means a SQLite file in `work_dir`.
    pub database_url: Option<String>,
    /// How often the database is polled for committed trades.
    pub poll_every: Duration,
    /// How long to wait, after the simulators stop, for the last events to arrive.
    pub drain_timeout: Duration,
    /// Where the services' logs and the SQLite file go.
    pub work_dir: PathBuf,
    /// Extra `TICKMESH__...` variables for every service (tuning experiments).
    pub service_env: Vec<(String, String)>,
    /// Replicated ingestion (distributed mode): replicas, and a kill and a stop during the
    /// run.
    pub failover: FailoverPlan,
    /// A StreamTicks client that resumes from some way back partway through the run.
    pub replay: ReplayPlan,
}

/// What the bench reports while it runs.
#[derive(Debug, Clone)]
pub enum Progress {
    /// A phase started.
    Phase(String),
    /// A periodic reading during generation.
    Tick {
        /// Time since the simulators started.
        elapsed: Duration,
        /// Events generated so far.
        generated: u64,
        /// Trades generated so far.
        trades: u64,
        /// Trades seen committed so far.
        stored: u64,
        /// Events the clients received so far.
        streamed: u64,
        /// Busy cores of the whole machine over the last period.
        machine_cores: f64,
        /// Records on the Redis stream the bridge has not finished (distributed mode).
        stream_backlog: Option<u64>,
    },
}
