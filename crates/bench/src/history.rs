//! `tickmesh bench --mode history`: how long each `HistoryService` call takes, over gRPC, from
//! a storage whose database holds a long history: a year of one-minute candles and a week of
//! trades and tickers per market on each exchange, by default.
//!
//! On PostgreSQL a run creates a database of its own on the given server, migrates it, makes
//! the partitions of the filled range with storage's own maintenance code, and fills it on the
//! server side ([`shape`] says what is stored, [`sql`] how), then starts `tickmesh serve
//! storage` on it. Without a PostgreSQL URL it fills a SQLite file instead ([`sqlite`]) and
//! starts `tickmesh up` on it, the embedded process, with no markets to collect. Either runs
//! as a child process of the `tickmesh` binary, as the mesh bench does, so its CPU time and
//! memory are its own; the bench makes realistic calls one at a time over a loopback socket
//! ([`calls`]): the
//! latest tickers, a trade page of the last hour and one from six days back (which only
//! partition pruning keeps as cheap), candles at 1m for a day, 1h for a month and 1d for a
//! year, a week's spread at 1h, and a ticker page. Each call's p50, p99 and maximum go in
//! the report, beside what the fill took. The database or file is removed at the end.

mod calls;
mod fill;
mod report;
mod shape;
mod sql;
mod sqlite;

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context as _;
use sea_orm::{ConnectOptions, Database, DatabaseConnection, DbBackend};
use tickmesh_domain::UtcMicros;
use tickmesh_storage::maintenance::Retention;

pub use calls::CallFigures;
pub use fill::TableFill;
pub use report::{FillFigures, HistoryReport};

use crate::Progress;
use crate::mesh::{Mesh, create_database, free_port, with_database};
use crate::usage::{cpu_model, cpus, figures, marks};

/// What a history run fills and measures.
#[derive(Debug, Clone)]
pub struct HistoryPlan {
    /// The `tickmesh` binary that runs storage.
    pub exe: PathBuf,
    /// A PostgreSQL URL whose server gets a fresh database for the run (dropped after it);
    /// `None` fills a SQLite file in `work_dir` (removed after the run) and serves it from
    /// `tickmesh up`.
    pub database_url: Option<String>,
    /// Kafka-protocol brokers of a PostgreSQL run: `tickmesh serve storage` needs them to
    /// start, though the run gives it nothing to consume (its topics are the run's own and
    /// stay empty).
    pub kafka_brokers: String,
    /// Markets on each exchange.
    pub markets: usize,
    /// Days of one-minute candles before now.
    pub candle_days: u32,
    /// Days of trades and tickers before now.
    pub trade_days: u32,
    /// Trades per second per market and exchange.
    pub trades_per_second: f64,
    /// Tickers per second per market and exchange.
    pub tickers_per_second: f64,
    /// Measured rounds: each call is made this many times.
    pub rounds: u32,
    /// Where storage's log (and the SQLite file) goes.
    pub work_dir: PathBuf,
    /// Extra `TICKMESH__...` variables for storage.
    pub service_env: Vec<(String, String)>,
}

/// Runs the history bench as `plan` says, reporting progress to `progress`.
pub async fn run_history(
    plan: HistoryPlan,
    mut progress: impl FnMut(Progress),
) -> anyhow::Result<HistoryReport> {
    std::fs::create_dir_all(&plan.work_dir)
        .with_context(|| format!("cannot create {}", plan.work_dir.display()))?;
    let id = format!(
        "{}_{}",
        std::process::id(),
        UtcMicros::now().as_micros() / 1_000_000
    );
    let (mut mesh, file) = match &plan.database_url {
        Some(admin) => {
            let name = format!("tickmesh_bench_history_{id}");
            create_database(admin, &name).await?;
            let url = with_database(admin, &name)?;
            (
                Mesh::without_services(url, Some((admin.clone(), name))),
                None,
            )
        }
        None => {
            let (path, url) = sqlite::file(&plan.work_dir);
            sqlite::remove(&path)?;
            (Mesh::without_services(url, None), Some(path))
        }
    };
    let outcome = measure(&plan, &id, &mut mesh, file.as_deref(), &mut progress).await;
    progress(crate::Progress::Phase(
        "stopping storage and removing the bench database".to_owned(),
    ));
    let stopped = mesh.stop().await;
    let removed = file.as_deref().map_or(Ok(()), sqlite::remove);
    let report = outcome?;
    stopped?;
    removed?;
    Ok(report)
}

/// What filling took.
struct Filled {
    rows: Vec<u64>,
    made: Vec<usize>,
    problems: Vec<String>,
    seconds: f64,
    connections: usize,
    hourly_candles: u64,
    hourly_s: f64,
    vacuum_s: f64,
    database_bytes: u64,
}

/// Fills PostgreSQL's database on as many connections as the machine has cores.
async fn fill_postgres(
    url: &str,
    shape: &mut shape::Shape,
    progress: &mut impl FnMut(Progress),
) -> anyhow::Result<Filled> {
    let workers = cpus();
    let mut options = ConnectOptions::new(url);
    options
        .max_connections(u32::try_from(workers).unwrap_or(4) + 1)
        .sqlx_logging(false);
    let db = Database::connect(options)
        .await
        .context("cannot connect to the bench database")?;
    progress(Progress::Phase(
        "migrating, making partitions with storage's maintenance code".to_owned(),
    ));
    let (jobs, made) = fill::prepare(&db, shape).await?;
    progress(Progress::Phase(format!(
        "filling {} statements on {workers} connections",
        jobs.len()
    )));
    let started = Instant::now();
    let (rows, problems) = fill::run(&db, jobs, workers, progress).await?;
    let seconds = started.elapsed().as_secs_f64();
    progress(Progress::Phase(format!(
        "filled in {seconds:.1} s; hourly candles from the minutes"
    )));
    let started = Instant::now();
    let hourly_candles = fill::hours(&db).await?;
    let hourly_s = started.elapsed().as_secs_f64();
    progress(Progress::Phase(format!(
        "{hourly_candles} hourly candles in {hourly_s:.1} s; vacuum analyze"
    )));
    let started = Instant::now();
    fill::vacuum(&db, workers).await?;
    let vacuum_s = started.elapsed().as_secs_f64();
    let database_bytes = fill::database_bytes(&db).await?;
    let _ = db.close().await;
    Ok(Filled {
        rows,
        made,
        problems,
        seconds,
        connections: workers,
        hourly_candles,
        hourly_s,
        vacuum_s,
        database_bytes,
    })
}

/// Fills the SQLite file at `path` on one connection, SQLite's one writer.
async fn fill_sqlite(
    url: &str,
    path: &Path,
    shape: &mut shape::Shape,
    progress: &mut impl FnMut(Progress),
) -> anyhow::Result<Filled> {
    let db: DatabaseConnection = tickmesh_storage::connect(url)
        .await
        .with_context(|| format!("cannot create {}", path.display()))?;
    progress(Progress::Phase("migrating the SQLite file".to_owned()));
    tickmesh_migrations::migrate(&db)
        .await
        .context("cannot migrate the bench file")?;
    fill::register(&db, DbBackend::Sqlite, shape).await?;
    progress(Progress::Phase(format!(
        "filling {} on one connection",
        path.display()
    )));
    let started = Instant::now();
    let (rows, problems) = sqlite::run(&db, shape, progress).await?;
    let seconds = started.elapsed().as_secs_f64();
    progress(Progress::Phase(format!(
        "filled in {seconds:.1} s; hourly candles from the minutes, with storage's own code"
    )));
    let started = Instant::now();
    let hourly_candles = sqlite::hours(&db).await?;
    let hourly_s = started.elapsed().as_secs_f64();
    progress(Progress::Phase(format!(
        "{hourly_candles} hourly candles in {hourly_s:.1} s; checkpointing the WAL"
    )));
    let started = Instant::now();
    sqlite::checkpoint(&db).await?;
    let vacuum_s = started.elapsed().as_secs_f64();
    let _ = db.close().await;
    Ok(Filled {
        rows,
        made: vec![0; fill::TABLES.len()],
        problems,
        seconds,
        connections: 1,
        hourly_candles,
        hourly_s,
        vacuum_s,
        database_bytes: sqlite::bytes(path),
    })
}

async fn measure(
    plan: &HistoryPlan,
    id: &str,
    mesh: &mut Mesh,
    file: Option<&Path>,
    progress: &mut impl FnMut(Progress),
) -> anyhow::Result<HistoryReport> {
    let now = UtcMicros::now().as_micros();
    let anchor = now - now.rem_euclid(shape::MINUTE_US);
    // Books as long as storage keeps them by default: older ones are gone in a live database.
    let book_days = Retention::default()
        .books
        .map_or(u32::MAX, |d| (d.as_secs() / 86_400) as u32);
    let mut shape = shape::Shape::new(
        &crate::feed::markets(plan.markets)?,
        anchor,
        plan.candle_days,
        plan.trade_days,
        plan.trades_per_second,
        plan.tickers_per_second,
        book_days,
    );
    let filled = match file {
        None => fill_postgres(&mesh.database_url, &mut shape, progress).await?,
        Some(path) => fill_sqlite(&mesh.database_url, path, &mut shape, progress).await?,
    };
    let mut problems = filled.problems.clone();
    let (name, process, args): (&str, &str, &[&str]) = match file {
        None => ("storage", "tickmesh serve storage", &["serve", "storage"]),
        Some(_) => ("up", "tickmesh up", &["up"]),
    };
    progress(Progress::Phase(format!(
        "starting {process} (log in {})",
        plan.work_dir.display()
    )));
    let mut env: Vec<(String, String)> = [
        // Warnings only, as in the mesh bench.
        ("RUST_LOG", String::new()),
        ("TICKMESH__LOG__FILTER", "warn".to_owned()),
        ("TICKMESH__METRICS__LISTEN", "off".to_owned()),
        ("TICKMESH__DATABASE__URL", mesh.database_url.clone()),
        // The fill decides what is stored: retention would drop longer histories than its
        // defaults keep while the calls run.
        ("TICKMESH__STORAGE__RETENTION__TRADES", "off".to_owned()),
        ("TICKMESH__STORAGE__RETENTION__TICKERS", "off".to_owned()),
        ("TICKMESH__STORAGE__RETENTION__BOOKS", "off".to_owned()),
    ]
    .map(|(k, v)| (k.to_owned(), v))
    .into();
    if file.is_none() {
        env.extend(
            [
                ("TICKMESH__BUS__KAFKA_BROKERS", plan.kafka_brokers.clone()),
                ("TICKMESH__BUS__TOPIC_PREFIX", format!("bench-{id}.")),
                ("TICKMESH__STORAGE__GROUP", format!("storage-{id}")),
            ]
            .map(|(k, v)| (k.to_owned(), v)),
        );
    }
    env.extend(plan.service_env.iter().cloned());
    let port = free_port().await?;
    mesh.spawn_from(&plan.exe, &plan.work_dir, name, args, port, &env)
        .await?;
    let mut client = calls::connect(&format!("http://127.0.0.1:{port}")).await?;
    // Warmed up first, so the connections the calls use exist when CPU is first read: a
    // process started later has no figures.
    calls::warm_up(&mut client, &shape, plan.markets).await?;
    progress(Progress::Phase(format!(
        "making each HistoryService call {} times, one at a time",
        plan.rounds
    )));
    let before = marks(mesh);
    let calls = calls::measure(&mut client, &shape, plan.markets, plan.rounds).await;
    let after = marks(mesh);
    if let Some(exit) = mesh.exited() {
        anyhow::bail!("{process} stopped during the run: {exit}");
    }
    let calls = calls?;
    for c in calls.iter().filter(|c| c.wrong > 0) {
        problems.push(format!(
            "{}: {} of {} answers did not hold what was filled (last held {} rows)",
            c.call, c.wrong, c.latency.samples, c.rows
        ));
    }
    let total: u64 = filled.rows.iter().sum();
    Ok(HistoryReport {
        mode: "history".to_owned(),
        database: if file.is_some() {
            "sqlite"
        } else {
            "postgresql"
        }
        .to_owned(),
        markets: plan.markets,
        candle_days: plan.candle_days,
        trade_days: plan.trade_days,
        trades_per_second: plan.trades_per_second,
        tickers_per_second: plan.tickers_per_second,
        rounds: plan.rounds,
        machine_cpus: cpus(),
        machine_cpu: cpu_model(),
        fill: FillFigures {
            tables: fill::TABLES
                .iter()
                .enumerate()
                .map(|(t, name)| TableFill {
                    table: (*name).to_owned(),
                    rows: filled.rows[t],
                    partitions: filled.made[t],
                })
                .collect(),
            rows: total,
            seconds: filled.seconds,
            rows_per_second: total as f64 / filled.seconds.max(1e-9),
            connections: filled.connections,
            hourly_candles: filled.hourly_candles,
            hourly_s: filled.hourly_s,
            vacuum_s: filled.vacuum_s,
            database_bytes: filled.database_bytes,
        },
        calls,
        processes: figures(&before, &after),
        problems,
    })
}
