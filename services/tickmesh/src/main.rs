//! The `tickmesh` binary. It only parses the command line and hands over to the composition
//! root of the chosen command; everything else lives in the library crates.

mod simulate;
mod up;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Real-time crypto market data from Upbit, Bithumb and Korbit over gRPC.
#[derive(Debug, Parser)]
#[command(name = "tickmesh", version, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run tickmesh in this process until SIGTERM or Ctrl-C.
    Up(UpArgs),
    /// Serve simulated Upbit, Bithumb and Korbit APIs on loopback until SIGTERM or Ctrl-C.
    Simulate(simulate::SimulateArgs),
}

/// Options of `tickmesh up`.
#[derive(Debug, clap::Args)]
struct UpArgs {
    /// TOML configuration file; `TICKMESH__SECTION__KEY` environment variables override it.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// gRPC listen address, overriding `server.listen` (port 0 picks a free port).
    #[arg(long, value_name = "ADDR")]
    listen: Option<SocketAddr>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Up(args) => up::run(args),
        Command::Simulate(args) => simulate::run(args),
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
