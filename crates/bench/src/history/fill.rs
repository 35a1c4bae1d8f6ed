//! Filling the bench's database: the schema by the migrations, the partitions by storage's
//! own maintenance code, then the rows, one chunk of time of one table per statement, on as
//! many connections as the machine has cores, with progress while it runs.
//!
//! Trades, tickers and books are filled one partition's range per statement, so each
//! statement writes one partition's heap and index in key order; candles, unpartitioned, a
//! week per statement. The trigger that merges each written minute into its hour is off
//! while the minutes go in, and the hours are computed from them afterwards in one statement
//! ([`hours`]): merging millions of minutes one by one would take longer than the fill.
//! Afterwards every table is vacuumed and analysed: a database that has been running for a
//! year has been seen to by autovacuum, and a read of rows never vacuumed would pay for
//! setting their hint bits, a cost only the first reader after a bulk load has.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement};
use serde::Serialize;
use tickmesh_storage::maintenance::{MaintenanceConfig, partitions};

use super::shape::{DAY_US, Series, Shape};
use super::sql;
use crate::Progress;

/// How often the fill reports how far it got.
const PROGRESS_EVERY: Duration = Duration::from_secs(5);

/// What filling one table took.
#[derive(Debug, Clone, Serialize)]
pub struct TableFill {
    /// The table.
    pub table: String,
    /// Rows inserted.
    pub rows: u64,
    /// Partitions made for it (0 for `candles_1m`, which is not partitioned).
    pub partitions: usize,
}

/// One statement to run.
pub(crate) struct Job {
    table: usize,
    sql: String,
    expected: u64,
}

/// The four filled tables, in report order.
pub(crate) const TABLES: [&str; 4] = ["candles_1m", "trades", "tickers", "orderbook_snapshots"];

fn series(shape: &Shape, table: usize) -> Series {
    [shape.candles, shape.trades, shape.tickers, shape.books][table]
}

/// Migrates, registers the markets (setting each pair's id), makes the partitions and
/// returns the statements that fill `shape`, with each table's partitions made.
pub(crate) async fn prepare(
    db: &DatabaseConnection,
    shape: &mut Shape,
) -> anyhow::Result<(Vec<Job>, Vec<usize>)> {
    tickmesh_migrations::migrate(db)
        .await
        .context("cannot migrate the bench database")?;
    db.execute_unprepared(r#"ALTER TABLE "candles_1m" DISABLE TRIGGER candles_1h_merge"#)
        .await
        .context("cannot pause the hourly candles' trigger for the fill")?;
    register(db, DbBackend::Postgres, shape).await?;
    // The width storage uses unless `storage.partition_interval` says otherwise.
    let width = i64::try_from(MaintenanceConfig::default().partition_interval.as_micros())
        .unwrap_or(DAY_US)
        .max(1);
    let mut jobs = Vec::new();
    let mut made = vec![0; TABLES.len()];
    for (table, name) in TABLES.iter().enumerate() {
        let s = series(shape, table);
        if s.from >= s.to {
            continue;
        }
        let chunks = if table == 0 {
            partitions::windows(s.from, s.to - 1, 7 * DAY_US)
        } else {
            let windows = partitions::windows(s.from, s.to - 1, width);
            let partitions = partitions::ensure(db, name, &windows, true)
                .await
                .with_context(|| format!("cannot make the partitions of {name}"))?
                .context("the partition lock was not taken although the bench waits for it")?;
            made[table] = partitions.len();
            windows
        };
        for (w0, w1) in chunks {
            let (c0, c1) = (w0.max(s.from), w1.min(s.to));
            if c0 >= c1 {
                continue;
            }
            let pairs = &shape.pairs;
            let expected = pairs.iter().map(|p| s.count(p.k, c0, c1)).sum();
            let sql = match table {
                0 => sql::candles(pairs, c0, c1),
                1 => sql::trades(pairs, s, c0, c1),
                2 => sql::tickers(pairs, s, c0, c1),
                _ => sql::books(pairs, s, c0, c1),
            };
            jobs.push(Job {
                table,
                sql,
                expected,
            });
        }
    }
    Ok((jobs, made))
}

/// Registers the markets of `shape`, setting each pair's id.
pub(crate) async fn register(
    db: &DatabaseConnection,
    backend: DbBackend,
    shape: &mut Shape,
) -> anyhow::Result<()> {
    let sql = match backend {
        DbBackend::Postgres => {
            "INSERT INTO markets (exchange, market) VALUES ($1, $2) \
             ON CONFLICT (exchange, market) DO UPDATE SET market = excluded.market RETURNING id"
        }
        _ => {
            "INSERT INTO markets (exchange, market) VALUES (?, ?) \
             ON CONFLICT (exchange, market) DO UPDATE SET market = excluded.market RETURNING id"
        }
    };
    for pair in &mut shape.pairs {
        let (exchange, market) = (pair.exchange.as_str(), pair.market.to_string());
        let row = db
            .query_one(Statement::from_sql_and_values(
                backend,
                sql,
                [exchange.into(), market.clone().into()],
            ))
            .await
            .with_context(|| format!("cannot register {exchange} {market}"))?
            .with_context(|| format!("registering {exchange} {market} returned no id"))?;
        pair.id = row.try_get("", "id")?;
    }
    Ok(())
}

/// Runs `jobs` on `workers` connections, reporting progress; returns the rows each table got
/// and a problem for each table that got other than it should have.
pub(crate) async fn run(
    db: &DatabaseConnection,
    jobs: Vec<Job>,
    workers: usize,
    progress: &mut impl FnMut(Progress),
) -> anyhow::Result<(Vec<u64>, Vec<String>)> {
    let mut expected = vec![0u64; TABLES.len()];
    for job in &jobs {
        expected[job.table] += job.expected;
    }
    let total: u64 = expected.iter().sum();
    let queue = Arc::new(Mutex::new(VecDeque::from(jobs)));
    let (done, mut finished) = tokio::sync::mpsc::unbounded_channel();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..workers.max(1) {
        let (queue, db, done) = (Arc::clone(&queue), db.clone(), done.clone());
        tasks.spawn(async move {
            loop {
                // A poisoned queue means another worker panicked; that one's error is reported.
                let Some(job) = queue.lock().ok().and_then(|mut q| q.pop_front()) else {
                    return Ok::<(), anyhow::Error>(());
                };
                let result = db
                    .execute_unprepared(&job.sql)
                    .await
                    .with_context(|| format!("cannot fill {}", TABLES[job.table]));
                match result {
                    Ok(r) => {
                        let _ = done.send((job.table, r.rows_affected()));
                    }
                    Err(e) => {
                        if let Ok(mut q) = queue.lock() {
                            q.clear();
                        }
                        return Err(e);
                    }
                }
            }
        });
    }
    drop(done);
    let started = Instant::now();
    let mut rows = vec![0u64; TABLES.len()];
    let mut tick =
        tokio::time::interval_at(tokio::time::Instant::now() + PROGRESS_EVERY, PROGRESS_EVERY);
    // A line every period, also while one long statement runs, so a stuck fill shows.
    loop {
        tokio::select! {
            done = finished.recv() => match done {
                Some((table, n)) => rows[table] += n,
                None => break,
            },
            _ = tick.tick() => {
                progress(Progress::Phase(line(&rows, &expected, total, started)));
            }
        }
    }
    while let Some(joined) = tasks.join_next().await {
        joined.context("a fill worker panicked")??;
    }
    progress(Progress::Phase(line(&rows, &expected, total, started)));
    let problems = problems(&rows, &expected);
    Ok((rows, problems))
}

/// A problem for each table whose `rows` filled differ from the `expected`.
pub(crate) fn problems(rows: &[u64], expected: &[u64]) -> Vec<String> {
    TABLES
        .iter()
        .enumerate()
        .filter(|(t, _)| rows[*t] != expected[*t])
        .map(|(t, name)| format!("{name}: {} rows filled, {} expected", rows[t], expected[t]))
        .collect()
}

/// `fill: 12.3M of 28.1M rows (44 %) in 40 s, 307k rows/s; candles_1m 7.9M/7.9M, ...`.
pub(crate) fn line(rows: &[u64], expected: &[u64], total: u64, started: Instant) -> String {
    let done: u64 = rows.iter().sum();
    let seconds = started.elapsed().as_secs_f64().max(1e-9);
    let tables: Vec<String> = TABLES
        .iter()
        .enumerate()
        .map(|(t, name)| format!("{name} {}/{}", millions(rows[t]), millions(expected[t])))
        .collect();
    format!(
        "fill: {} of {} rows ({:.0} %) in {seconds:.0} s, {:.0}k rows/s; {}",
        millions(done),
        millions(total),
        done as f64 * 100.0 / total.max(1) as f64,
        done as f64 / seconds / 1_000.0,
        tables.join(", ")
    )
}

fn millions(n: u64) -> String {
    format!("{:.1}M", n as f64 / 1e6)
}

/// Computes the hourly candles from the filled minutes and turns their trigger back on;
/// returns how many hours there are.
pub(crate) async fn hours(db: &DatabaseConnection) -> anyhow::Result<u64> {
    db.execute_unprepared(tickmesh_migrations::REBUILD_HOURLY_CANDLES)
        .await
        .context("cannot compute the hourly candles")?;
    db.execute_unprepared(r#"ALTER TABLE "candles_1m" ENABLE TRIGGER candles_1h_merge"#)
        .await
        .context("cannot turn the hourly candles' trigger back on")?;
    let row = db
        .query_one(Statement::from_string(
            DbBackend::Postgres,
            r#"SELECT count(*) AS n FROM "candles_1h""#,
        ))
        .await?
        .context("counting the hourly candles returned no row")?;
    let n: i64 = row.try_get("", "n")?;
    Ok(u64::try_from(n).unwrap_or_default())
}

/// Vacuums and analyses the filled tables, on `workers` connections at once.
pub(crate) async fn vacuum(db: &DatabaseConnection, workers: usize) -> anyhow::Result<()> {
    let mut tables = TABLES.to_vec();
    tables.push("candles_1h");
    let queue = Arc::new(Mutex::new(VecDeque::from(tables)));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..workers.max(1) {
        let (queue, db) = (Arc::clone(&queue), db.clone());
        tasks.spawn(async move {
            while let Some(table) = queue.lock().ok().and_then(|mut q| q.pop_front()) {
                db.execute_unprepared(&format!("VACUUM (ANALYZE) {table}"))
                    .await
                    .with_context(|| format!("cannot vacuum {table}"))?;
            }
            Ok::<(), anyhow::Error>(())
        });
    }
    while let Some(joined) = tasks.join_next().await {
        joined.context("a vacuum worker panicked")??;
    }
    Ok(())
}

/// The database's size on disk, in bytes.
pub(crate) async fn database_bytes(db: &DatabaseConnection) -> anyhow::Result<u64> {
    let row = db
        .query_one(Statement::from_string(
            DbBackend::Postgres,
            "SELECT pg_database_size(current_database()) AS n",
        ))
        .await
        .context("cannot read the bench database's size")?
        .context("reading the database's size returned no row")?;
    let n: i64 = row.try_get("", "n")?;
    Ok(u64::try_from(n).unwrap_or(0))
}
