//! `tickmesh bench`: reads the options, runs `tickmesh_bench`, prints progress to stderr, the
//! table to stdout and, when asked, the JSON report to a file. `--mode history` runs the
//! history bench instead ([`history`]).

mod history;

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use tickmesh_bench::{BenchConfig, ClientFilter, Mode, Progress};

/// Options of `tickmesh bench`.
#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    /// `embedded` (one `tickmesh up`), `distributed` (`tickmesh serve` per service on Redis,
    /// Kafka and PostgreSQL) or `history` (HistoryService calls against storage over a
    /// database filled with a long history: PostgreSQL with --database-url, else a SQLite
    /// file served by `tickmesh up`).
    #[arg(long, default_value = "embedded", value_parser = parse_mode)]
    mode: BenchMode,
    /// Events per second across the three simulated exchanges (trades, tickers and books).
    #[arg(long, default_value_t = 10_000, value_name = "N")]
    rate: u32,
    /// Markets each exchange lists.
    #[arg(long, default_value_t = 5, value_name = "N")]
    markets: usize,
    /// How long to generate after the warm-up, such as 60s or 5m.
    #[arg(long, default_value = "30s", value_parser = tickmesh_bootstrap::config::parse_duration)]
    duration: Duration,
    /// Generation at the start left out of the latency figures.
    #[arg(long, default_value = "5s", value_parser = tickmesh_bootstrap::config::parse_duration)]
    warmup: Duration,
    /// StreamTicks clients to attach.
    #[arg(long, default_value_t = 1, value_name = "N")]
    clients: usize,
    /// What each client asks for: `pair` (one exchange and market), `market` (one market on
    /// every exchange) or `all`.
    #[arg(long, default_value = "all")]
    client_filter: ClientFilter,
    /// Redis of a distributed run.
    #[arg(long, default_value = "redis://127.0.0.1:6379", value_name = "URL")]
    redis_url: String,
    /// Kafka-protocol brokers of a distributed run.
    #[arg(long, default_value = "127.0.0.1:9092", value_name = "HOSTS")]
    kafka_brokers: String,
    /// librdkafka properties for the services, `key=value,...`.
    #[arg(long, default_value = "", value_name = "PROPS")]
    kafka_options: String,
    /// PostgreSQL URL; the run creates a database of its own on that server and drops it
    /// after. Required for distributed runs; embedded and history runs use a SQLite file
    /// without it.
    #[arg(long, value_name = "URL")]
    database_url: Option<String>,
    /// How often the database is polled for committed trades.
    #[arg(long, default_value = "25ms", value_parser = tickmesh_bootstrap::config::parse_duration)]
    poll_every: Duration,
    /// How long to wait for the last events after generation stops.
    #[arg(long, default_value = "60s", value_parser = tickmesh_bootstrap::config::parse_duration)]
    drain_timeout: Duration,
    /// Extra service configuration, `TICKMESH__SECTION__KEY=value` (repeatable).
    #[arg(long = "service-env", value_name = "KEY=VALUE", value_parser = parse_env)]
    service_env: Vec<(String, String)>,
    /// Ingestion replicas of a distributed run (more than 1: replicated, sharing the markets
    /// through leases).
    #[arg(long, default_value_t = 1, value_name = "N")]
    ingestion_replicas: usize,
    /// Kill one ingestion replica with SIGKILL this long after generation starts (needs 2+
    /// replicas); the report shows how long its markets went unpublished.
    #[arg(long, value_parser = tickmesh_bootstrap::config::parse_duration, value_name = "DURATION")]
    kill_ingestion_at: Option<Duration>,
    /// Stop another ingestion replica with SIGTERM this long after generation starts (needs
    /// 3+ replicas with --kill-ingestion-at, 2+ without); it hands its markets over.
    #[arg(long, value_parser = tickmesh_bootstrap::config::parse_duration, value_name = "DURATION")]
    stop_ingestion_at: Option<Duration>,
    /// A StreamTicks client resumes this long after generation starts, asking for every event
    /// from --replay-back before; the report shows how fast the history reached it.
    #[arg(long, value_parser = tickmesh_bootstrap::config::parse_duration, value_name = "DURATION")]
    replay_at: Option<Duration>,
    /// How far back the resuming client starts (with --replay-at).
    #[arg(long, value_parser = tickmesh_bootstrap::config::parse_duration, value_name = "DURATION", default_value = "30s")]
    replay_back: Duration,
    /// Where service logs (and the embedded SQLite file) go; a new temporary folder when unset.
    #[arg(long, value_name = "DIR")]
    work_dir: Option<PathBuf>,
    /// Also write the report as JSON to this file (`-` for stdout, after the table).
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    #[command(flatten)]
    history: history::HistoryArgs,
}

/// What `--mode` picks: the mesh under load in one of its deployments, or history reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BenchMode {
    Mesh(Mode),
    History,
}

fn parse_mode(s: &str) -> Result<BenchMode, String> {
    match s {
        "embedded" => Ok(BenchMode::Mesh(Mode::Embedded)),
        "distributed" => Ok(BenchMode::Mesh(Mode::Distributed)),
        "history" => Ok(BenchMode::History),
        _ => Err(format!(
            "unknown mode `{s}`: expected embedded, distributed or history"
        )),
    }
}

fn parse_env(s: &str) -> Result<(String, String), String> {
    let (k, v) = s
        .split_once('=')
        .ok_or_else(|| format!("expected KEY=VALUE, got `{s}`"))?;
    if !k.starts_with("TICKMESH__") {
        return Err(format!(
            "`{k}` is not a tickmesh setting (TICKMESH__SECTION__KEY)"
        ));
    }
    Ok((k.to_owned(), v.to_owned()))
}

pub fn run(args: BenchArgs) -> anyhow::Result<()> {
    let mode = match args.mode {
        BenchMode::Mesh(mode) => mode,
        BenchMode::History => return history::run(args),
    };
    if args.rate == 0 {
        anyhow::bail!("--rate must be at least 1 event per second");
    }
    if args.ingestion_replicas > 1 && mode != Mode::Distributed {
        anyhow::bail!(
            "--ingestion-replicas needs --mode distributed (replicas share leases on redis)"
        );
    }
    let disruptions = usize::from(args.kill_ingestion_at.is_some())
        + usize::from(args.stop_ingestion_at.is_some());
    if disruptions > 0 && args.ingestion_replicas < disruptions + 1 {
        anyhow::bail!(
            "--kill-ingestion-at and --stop-ingestion-at each take a replica and one must stay: use --ingestion-replicas {}",
            disruptions + 1
        );
    }
    let work_dir = work_dir(args.work_dir);
    let config = BenchConfig {
        exe: std::env::current_exe().context("cannot find the tickmesh binary to run")?,
        mode,
        rate: args.rate,
        markets: args.markets,
        duration: args.duration,
        warmup: args.warmup,
        clients: args.clients,
        client_filter: args.client_filter,
        redis_url: args.redis_url,
        kafka_brokers: args.kafka_brokers,
        kafka_options: args.kafka_options,
        database_url: args.database_url,
        poll_every: args.poll_every.max(Duration::from_millis(1)),
        drain_timeout: args.drain_timeout,
        work_dir,
        service_env: args.service_env,
        failover: tickmesh_bench::FailoverPlan {
            replicas: args.ingestion_replicas.max(1),
            kill_at: args.kill_ingestion_at,
            stop_at: args.stop_ingestion_at,
        },
        replay: tickmesh_bench::ReplayPlan {
            at: args.replay_at,
            back: args.replay_back,
        },
    };
    let report = crate::up::block_on(async move {
        // A stopped bench stops its services too: killed outright they would outlive it.
        let interrupted =
            tickmesh_bootstrap::terminate_signal().context("cannot install signal handlers")?;
        tickmesh_bench::run_until(config, print_progress, interrupted).await
    })?;
    print!("{}", report.table());
    write_json(args.json, || serde_json::to_string_pretty(&report))
}

/// The folder asked for, or a new temporary one.
fn work_dir(asked: Option<PathBuf>) -> PathBuf {
    match asked {
        Some(dir) => dir,
        None => std::env::temp_dir().join(format!("tickmesh-bench-{}", std::process::id())),
    }
}

/// Writes the report's JSON to `path` (`-` for stdout), if one was given.
fn write_json(
    path: Option<PathBuf>,
    json: impl FnOnce() -> serde_json::Result<String>,
) -> anyhow::Result<()> {
    if let Some(path) = path {
        let json = json().context("cannot encode the report")?;
        if path.as_os_str() == "-" {
            println!("{json}");
        } else {
            std::fs::write(&path, json + "\n")
                .with_context(|| format!("cannot write {}", path.display()))?;
            eprintln!("report written to {}", path.display());
        }
    }
    Ok(())
}

pub(crate) fn print_progress(progress: Progress) {
    match progress {
        Progress::Phase(what) => eprintln!("bench: {what}"),
        Progress::Tick {
            elapsed,
            generated,
            trades,
            stored,
            streamed,
            machine_cores,
            stream_backlog,
        } => {
            let seconds = elapsed.as_secs_f64().max(1e-9);
            let backlog = stream_backlog
                .map(|n| format!("  redis stream backlog {n}"))
                .unwrap_or_default();
            eprintln!(
                "bench: {:>5.1} s  generated {generated} events ({:.0}/s)  trades stored {stored}/{trades}  streamed {streamed}{backlog}  machine {machine_cores:.2} cores busy",
                seconds,
                generated as f64 / seconds
            );
        }
    }
}
