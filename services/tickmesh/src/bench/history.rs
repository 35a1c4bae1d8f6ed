//! `tickmesh bench --mode history`: the options of the history bench, and running it.

use anyhow::Context as _;
use tickmesh_bench::HistoryPlan;

use super::{BenchArgs, print_progress, work_dir, write_json};

/// Options of `--mode history` (the other modes ignore them).
#[derive(Debug, clap::Args)]
pub struct HistoryArgs {
    /// History mode: days of one-minute candles filled before now, per market and exchange.
    #[arg(long, default_value_t = 365, value_name = "DAYS")]
    candle_days: u32,
    /// History mode: days of trades and tickers filled before now.
    #[arg(long, default_value_t = 7, value_name = "DAYS")]
    trade_days: u32,
    /// History mode: trades per second filled per market and exchange.
    #[arg(long, default_value_t = 2.0, value_name = "N")]
    trades_per_second: f64,
    /// History mode: tickers per second filled per market and exchange.
    #[arg(long, default_value_t = 0.2, value_name = "N")]
    tickers_per_second: f64,
    /// History mode: how many times each HistoryService call is made and timed.
    #[arg(long, default_value_t = 100, value_name = "N")]
    requests: u32,
}

/// Fills a database on the `--database-url` server, or a SQLite file without one, times the
/// calls, prints the report.
pub fn run(args: BenchArgs) -> anyhow::Result<()> {
    let h = &args.history;
    let database_url = args.database_url.clone();
    if let Some(url) = &database_url
        && !(url.starts_with("postgres://") || url.starts_with("postgresql://"))
    {
        anyhow::bail!(
            "--database-url must be a PostgreSQL URL (postgres://...): the run creates a \
             database of its own on that server; leave it out to bench a SQLite file, the \
             embedded store"
        );
    }
    if h.candle_days == 0 || h.trade_days == 0 {
        anyhow::bail!("--candle-days and --trade-days must be at least 1");
    }
    for (name, rate) in [
        ("--trades-per-second", h.trades_per_second),
        ("--tickers-per-second", h.tickers_per_second),
    ] {
        // Each pair's events are spaced whole microseconds apart, a minute at most.
        if !(1.0 / 60.0..=1_000_000.0).contains(&rate) {
            anyhow::bail!("{name} must be between 0.017 (one a minute) and 1000000");
        }
    }
    if args.markets == 0 || h.requests == 0 {
        anyhow::bail!("--markets and --requests must be at least 1");
    }
    let plan = HistoryPlan {
        exe: std::env::current_exe().context("cannot find the tickmesh binary to run")?,
        database_url,
        kafka_brokers: args.kafka_brokers.clone(),
        markets: args.markets,
        candle_days: h.candle_days,
        trade_days: h.trade_days,
        trades_per_second: h.trades_per_second,
        tickers_per_second: h.tickers_per_second,
        rounds: h.requests,
        work_dir: work_dir(args.work_dir.clone()),
        service_env: args.service_env.clone(),
    };
    let report = crate::up::block_on(tickmesh_bench::run_history(plan, print_progress))?;
    print!("{}", report.table());
    write_json(args.json, || serde_json::to_string_pretty(&report))
}
