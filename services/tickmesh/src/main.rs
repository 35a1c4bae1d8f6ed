//! The `tickmesh` binary. It only parses the command line and hands over to the composition
//! root of the chosen command; everything else lives in the library crates.

mod archive;
mod backends;
mod bench;
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
    #[command(flatten)]
    Client(tickmesh_client::ClientCommand),
    /// Measure the mesh under load: simulators at a chosen rate, the services as child
    /// processes, StreamTicks clients; reports throughput, loss, latency, CPU and memory.
    Bench(bench::BenchArgs),
    /// Print a shell completion script: `tickmesh completions bash > ~/.local/share/bash-completion/completions/tickmesh`.
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Up(args) => up::run_up(args),
        Command::Serve { service, args } => up::run_serve(service, args),
        Command::Migrate(args) => migrate::run(args),
        Command::Simulate(args) => simulate::run(args),
        Command::Client(command) => up::block_on(command.run()),
        Command::Bench(args) => bench::run(args),
        Command::Completions { shell } => {
            let mut command = <Cli as clap::CommandFactory>::command();
            clap_complete::generate(shell, &mut command, "tickmesh", &mut std::io::stdout());
            Ok(())
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if tickmesh_client::is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            // `{:#}` prints the whole context chain on one line: what failed and why.
            eprintln!("tickmesh: error: {e:#}");
            // Client commands exit with a status scripts can tell apart (README, "Exit
            // statuses"); the services exit 1 on any failure.
            ExitCode::from(tickmesh_client::exit_status(&e) as u8)
        }
    }
}
