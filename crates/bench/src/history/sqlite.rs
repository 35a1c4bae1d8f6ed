//! Filling a SQLite file, the embedded store of `tickmesh up`, with the same history as
//! PostgreSQL gets ([`super::sql`]).
//!
//! SQLite has no `generate_series` or `NUMERIC`, so the rows are made here ([`rows`]) from
//! the same functions of pair and time, with exact decimals as the text storage writes, and
//! inserted as multi-row statements, about [`ROWS_PER_TRANSACTION`] rows of one table per
//! transaction. SQLite runs one writer, so one connection fills. The triggers of migration 13 mark each filled minute's
//! hour as stale; storage's own hourly-candle code then computes them, so the calls find the
//! file as a long-running `tickmesh up` keeps it.

mod rows;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement, TransactionTrait, Value};
use tickmesh_storage::MaintenanceStats;
use tickmesh_storage::maintenance::hours;

use super::fill::TABLES;
use super::shape::{HOUR_US, Series, Shape};
use crate::Progress;

/// How often the fill reports how far it got.
const PROGRESS_EVERY: Duration = Duration::from_secs(5);
/// Bind parameters per statement, below SQLite's limit of 32,766.
pub(crate) const MAX_BINDS: usize = 30_000;
/// Rows made and inserted at a time: a stretch of time of one table, whole hours, with about
/// this many rows, so the rows in memory stay a few tens of megabytes.
const ROWS_PER_TRANSACTION: i64 = 100_000;

/// The file of a run in `work_dir`, and the SQLite URL storage opens it by.
pub(crate) fn file(work_dir: &Path) -> (PathBuf, String) {
    let path = work_dir.join("history.db");
    let url = format!("sqlite://{}", path.display());
    (path, url)
}

/// Removes the file at `path` with its WAL and shared-memory files, where present.
pub(crate) fn remove(path: &Path) -> anyhow::Result<()> {
    for suffix in ["", "-wal", "-shm"] {
        let path = PathBuf::from(format!("{}{suffix}", path.display()));
        if path.exists() {
            std::fs::remove_file(&path)
                .with_context(|| format!("cannot remove {}", path.display()))?;
        }
    }
    Ok(())
}

/// The column list of each of [`TABLES`].
pub(crate) const COLUMNS: [&str; 4] = [
    "market_id, open_time_us, open, high, low, close, volume, quote_volume, trade_count, \
     first_trade_time_us, first_trade_id, last_trade_time_us, last_trade_id",
    "market_id, trade_id, price, size, side, exchange_time_us, received_time_us, position",
    "market_id, exchange_time_us, received_time_us, last, open, high, low, prev_close, \
     volume_24h, quote_volume_24h, best_bid, best_ask, position",
    "market_id, exchange_time_us, received_time_us, bids, asks",
];

fn series(shape: &Shape, table: usize) -> Series {
    [shape.candles, shape.trades, shape.tickers, shape.books][table]
}

/// Whole hours holding about [`ROWS_PER_TRANSACTION`] events of `s` over `pairs` pairs.
fn stretch(s: Series, pairs: usize) -> i64 {
    let per_hour = (HOUR_US / s.step.max(1)).max(1) * i64::try_from(pairs).unwrap_or(1).max(1);
    (ROWS_PER_TRANSACTION / per_hour).clamp(1, 24 * 7) * HOUR_US
}

/// Fills every table of `shape` a stretch at a time, reporting progress; returns the rows
/// each table got and a problem for each table that got other than it should have.
pub(crate) async fn run(
    db: &DatabaseConnection,
    shape: &Shape,
    progress: &mut impl FnMut(Progress),
) -> anyhow::Result<(Vec<u64>, Vec<String>)> {
    let mut expected = vec![0u64; TABLES.len()];
    let mut days = Vec::new();
    for (table, expected) in expected.iter_mut().enumerate() {
        let s = series(shape, table);
        let width = stretch(s, shape.pairs.len());
        let mut c0 = s.from;
        while c0 < s.to {
            let c1 = (c0 + width).min(s.to);
            *expected += shape
                .pairs
                .iter()
                .map(|p| s.count(p.k, c0, c1))
                .sum::<u64>();
            days.push((table, c0, c1));
            c0 = c1;
        }
    }
    let total: u64 = expected.iter().sum();
    let started = Instant::now();
    let mut reported = Instant::now();
    let mut rows = vec![0u64; TABLES.len()];
    for (table, c0, c1) in days {
        let s = series(shape, table);
        let statements = rows::make(shape, table, s, c0, c1);
        rows[table] += insert(db, table, statements)
            .await
            .with_context(|| format!("cannot fill {}", TABLES[table]))?;
        if reported.elapsed() >= PROGRESS_EVERY {
            progress(Progress::Phase(super::fill::line(
                &rows, &expected, total, started,
            )));
            reported = Instant::now();
        }
    }
    progress(Progress::Phase(super::fill::line(
        &rows, &expected, total, started,
    )));
    let problems = super::fill::problems(&rows, &expected);
    Ok((rows, problems))
}

/// Inserts `statements` (each the values of whole rows of `table`, in [`COLUMNS`] order) in
/// one transaction; returns the rows inserted.
async fn insert(
    db: &DatabaseConnection,
    table: usize,
    statements: Vec<Vec<Value>>,
) -> anyhow::Result<u64> {
    let width = COLUMNS[table].split(',').count();
    let row = format!("({})", vec!["?"; width].join(", "));
    let txn = db.begin().await?;
    let mut inserted = 0;
    for values in statements {
        let sql = format!(
            "INSERT INTO {} ({}) VALUES {}",
            TABLES[table],
            COLUMNS[table],
            vec![row.as_str(); values.len() / width].join(", ")
        );
        let done = txn
            .execute(Statement::from_sql_and_values(
                DbBackend::Sqlite,
                sql,
                values,
            ))
            .await?;
        inserted += done.rows_affected();
    }
    txn.commit().await?;
    Ok(inserted)
}

/// Computes the hourly candles the fill marked stale with storage's own code; returns how
/// many hours there are.
pub(crate) async fn hours(db: &DatabaseConnection) -> anyhow::Result<u64> {
    hours::refresh(db, Duration::ZERO, &MaintenanceStats::default())
        .await
        .context("cannot compute the hourly candles")?;
    count(db, "SELECT count(*) AS n FROM candles_1h").await
}

/// Checkpoints the WAL into the file and empties it, as a quiet `tickmesh up` would have.
pub(crate) async fn checkpoint(db: &DatabaseConnection) -> anyhow::Result<()> {
    db.execute_unprepared("PRAGMA wal_checkpoint(TRUNCATE)")
        .await
        .context("cannot checkpoint the bench file")?;
    Ok(())
}

/// The file's size with its WAL, in bytes.
pub(crate) fn bytes(path: &Path) -> u64 {
    ["", "-wal"]
        .iter()
        .filter_map(|suffix| std::fs::metadata(format!("{}{suffix}", path.display())).ok())
        .map(|m| m.len())
        .sum()
}

async fn count(db: &DatabaseConnection, sql: &str) -> anyhow::Result<u64> {
    let row = db
        .query_one(Statement::from_string(DbBackend::Sqlite, sql))
        .await?
        .with_context(|| format!("`{sql}` returned no row"))?;
    let n: i64 = row.try_get("", "n")?;
    Ok(u64::try_from(n).unwrap_or_default())
}
