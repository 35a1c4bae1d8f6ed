//! The `tickmesh` binary. It only parses the command line and hands over to the composition
//! root of the chosen command; everything else lives in the library crates.

mod backends;
mod bench;
mod client;
mod follow;
mod migrate;
mod plane;
mod settings;
mod simulate;
mod up;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// jemalloc: allocation is a large share of the per-event work; the workspace `Cargo.toml`
/// says why this one, docs/benchmarks.md has the measurements.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// Real-time crypto market data from Upbit, Bithumb and Korbit over gRPC.
#[derive(Debug, Parser)]
#[command(name = "tickmesh", version, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run every service in this process until SIGTERM or Ctrl-C (in-process bus and a
    /// SQLite file unless Redis, Kafka or PostgreSQL are configured).
    Up(up::UpArgs),
    /// Run one service in this process, on Redis, Kafka and the database as configured.
    Serve {
        /// Which service.
        #[arg(value_enum)]
        service: up::Service,
        #[command(flatten)]
        args: up::HostArgs,
    },
    /// Apply the database migrations (`database.url`) and exit.
    Migrate(migrate::MigrateArgs),
    /// Serve simulated Upbit, Bithumb and Korbit APIs on loopback until SIGTERM or Ctrl-C.
    Simulate(simulate::SimulateArgs),
    /// Manage the collected exchange + market pairs.
    Subs(client::SubsArgs),
    /// Watch a market live across exchanges.
    Watch(client::WatchArgs),
    /// Show stored candles of a market.
    History(client::HistoryArgs),
    /// Compare a market's latest prices across exchanges.
    Compare(client::CompareArgs),
    /// Show the exchange feeds' status.
    Feeds(client::FeedsArgs),
    /// Measure the mesh under load: simulators at a chosen rate, the services as child
    /// processes, StreamTicks clients; reports throughput, loss, latency, CPU and memory.
    Bench(bench::BenchArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Up(args) => up::run_up(args),
        Command::Serve { service, args } => up::run_serve(service, args),
        Command::Migrate(args) => migrate::run(args),
        Command::Simulate(args) => simulate::run(args),
        Command::Subs(args) => up::block_on(client::subs::run(args)),
        Command::Watch(args) => up::block_on(client::watch::run(args)),
        Command::History(args) => up::block_on(client::history::run_history(args)),
        Command::Compare(args) => up::block_on(client::history::run_compare(args)),
        Command::Feeds(args) => up::block_on(client::history::run_feeds(args)),
        Command::Bench(args) => bench::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // `{:#}` prints the whole context chain on one line: what failed and why.
            eprintln!("tickmesh: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
