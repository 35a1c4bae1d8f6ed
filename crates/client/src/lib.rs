//! The tickmesh client commands: `subs`, `watch`, `history`, `trades`, `spread`, `compare`,
//! `feeds` and `export` talk to a running tickmesh over gRPC.
//!
//! Every command prints a table for people by default and JSON, NDJSON or CSV for scripts
//! (`--output`, [`output`]), with stable field names, exact decimals and RFC 3339 UTC times;
//! exit statuses are [`Exit`]. The protobuf types stop in this crate: commands turn answers
//! into [`output::Value`]s at once.

pub mod compare;
pub mod export;
pub mod feeds;
pub mod history;
pub mod output;
pub mod range;
pub mod records;
pub mod render;
pub mod server;
pub mod subs;
pub mod watch;
pub mod wire;

pub use server::{Exit, Failure, ServerArgs, exit_status, is_broken_pipe};

/// The client commands, for the binary's command line.
#[derive(Debug, clap::Subcommand)]
pub enum ClientCommand {
    /// Manage the collected exchange + market pairs.
    Subs(subs::SubsArgs),
    /// Watch a market live across exchanges (a table, or every event with --output ndjson).
    Watch(watch::WatchArgs),
    /// Show stored candles of a market.
    History(history::HistoryArgs),
    /// Show stored trades of a market on one exchange.
    Trades(history::TradesArgs),
    /// Show the spread between two exchanges' closes over time.
    Spread(history::SpreadArgs),
    /// Compare a market's latest prices across exchanges.
    Compare(compare::CompareArgs),
    /// Show the exchange feeds' status.
    Feeds(feeds::FeedsArgs),
    /// Export stored trades, candles or tickers to a CSV or Parquet file.
    Export(export::ExportArgs),
}

impl ClientCommand {
    /// Runs the command to completion.
    pub async fn run(self) -> anyhow::Result<()> {
        match self {
            ClientCommand::Subs(args) => subs::run(args).await,
            ClientCommand::Watch(args) => watch::run(args).await,
            ClientCommand::History(args) => history::run_history(args).await,
            ClientCommand::Trades(args) => history::run_trades(args).await,
            ClientCommand::Spread(args) => history::run_spread(args).await,
            ClientCommand::Compare(args) => compare::run(args).await,
            ClientCommand::Feeds(args) => feeds::run(args).await,
            ClientCommand::Export(args) => export::run(args).await,
        }
    }
}
