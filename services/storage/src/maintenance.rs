//! Keeping the market-data tables for months: partitions made ahead of time and expired
//! rows removed, in one round ([`maintain`]) that storage runs at start and then every
//! `storage.partition_maintenance` ([`run`]).
//!
//! * PostgreSQL: the trades, tickers and order book snapshots are partitioned by exchange
//!   time ([`partitions`]); a round makes the partitions from now to
//!   `storage.partitions_ahead` ahead, and drops whole partitions whose entire range is older
//!   than now minus the table's retention. Rows are never deleted one by one.
//!   Then the indexes of one partition per table whose range closed an hour ago or more
//!   are rebuilt packed ([`pack`]), after every table's partitions are made and dropped, so
//!   a rebuild waiting for a long read never holds those up.
//! * SQLite: no partitions; expired rows are deleted in bounded batches ([`sqlite`]).
//!
//! Whatever retention removes from trades and tickers is recorded in `retention_marks` (the
//! highest stream position removed, and the exchange time before which rows went), which
//! [`dropped_through`] reads: a stream client resuming from further back is told the stretch
//! was not retained.

mod config;
pub mod hours;
pub mod pack;
pub mod partitions;
pub mod sqlite;
pub mod stats;

pub use config::{MaintenanceConfig, Retention, parse_retention, parse_span};
pub use stats::MaintenanceStats;

use std::sync::Arc;

use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement};
use tickmesh_domain::UtcMicros;
use tickmesh_telemetry::ErrorChain;

pub(crate) use self::config::micros;
use crate::StorageError;

/// What one round did to one table.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TableReport {
    /// The table.
    pub table: &'static str,
    /// Partitions made (PostgreSQL).
    pub partitions_created: Vec<String>,
    /// Partitions dropped by retention (PostgreSQL).
    pub partitions_dropped: Vec<String>,
    /// Rows removed by retention (in dropped partitions, or deleted on SQLite).
    pub rows_dropped: u64,
    /// Partitions whose indexes were rebuilt packed (PostgreSQL).
    pub partitions_packed: Vec<String>,
    /// Whether another replica held the partition lock, so this one left the table alone.
    pub skipped: bool,
}

/// Does one round at `now`: makes the partitions ahead (PostgreSQL), removes what
/// retention expires. Returns what it did to each table, in [`partitions::PARTITIONED`]
/// order.
pub async fn maintain(
    db: &DatabaseConnection,
    config: &MaintenanceConfig,
    now: UtcMicros,
) -> Result<Vec<TableReport>, StorageError> {
    let now_us = now.as_micros();
    let postgres = db.get_database_backend() == DbBackend::Postgres;
    let mut reports = Vec::new();
    for (table, keep) in config.retention.tables() {
        let mut report = TableReport {
            table,
            ..TableReport::default()
        };
        if postgres {
            let width = micros(config.partition_interval).max(1);
            let ahead = now_us.saturating_add(micros(config.partitions_ahead));
            let windows = partitions::windows(now_us, ahead, width);
            match partitions::ensure(db, table, &windows, false).await? {
                Some(made) => {
                    report.partitions_created = made.into_iter().map(|p| p.name).collect()
                }
                None => report.skipped = true,
            }
        }
        if let Some(keep) = keep {
            let cutoff = now_us.saturating_sub(micros(keep));
            if postgres {
                match partitions::drop_expired(db, table, cutoff, now_us).await? {
                    Some(dropped) => {
                        report.rows_dropped = dropped.iter().map(|d| d.rows).sum();
                        report.partitions_dropped =
                            dropped.into_iter().map(|d| d.partition.name).collect();
                    }
                    None => report.skipped = true,
                }
            } else {
                let deleted = sqlite::delete_expired(
                    db,
                    table,
                    cutoff,
                    config.delete_batch.max(1),
                    config.delete_pause,
                    now_us,
                )
                .await?;
                report.rows_dropped = deleted.rows;
            }
        }
        reports.push(report);
    }
    if postgres {
        for report in &mut reports {
            match pack::pack_oldest(db, report.table, now_us.saturating_sub(pack::SETTLE_US))
                .await?
            {
                Some(packed) => report.partitions_packed.extend(packed),
                None => report.skipped = true,
            }
        }
    }
    Ok(reports)
}

/// Runs a round now and then every `config.interval`, until the task is dropped. A round that
/// fails is logged and counted; the next one tries again.
pub async fn run(db: DatabaseConnection, config: MaintenanceConfig, stats: Arc<MaintenanceStats>) {
    let mut ticks = tokio::time::interval(config.interval.max(std::time::Duration::from_secs(1)));
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        match maintain(&db, &config, UtcMicros::now()).await {
            Ok(reports) => {
                stats.record(&reports);
                for r in reports.iter().filter(|r| {
                    !r.partitions_created.is_empty()
                        || !r.partitions_dropped.is_empty()
                        || !r.partitions_packed.is_empty()
                        || r.rows_dropped > 0
                }) {
                    tracing::info!(
                        table = r.table,
                        created = ?r.partitions_created,
                        dropped = ?r.partitions_dropped,
                        packed = ?r.partitions_packed,
                        rows_dropped = r.rows_dropped,
                        "storage maintenance"
                    );
                }
            }
            Err(e) => {
                stats.failed();
                tracing::warn!(
                    error = %ErrorChain(&e),
                    "storage maintenance failed; it runs again at the next storage.partition_maintenance"
                );
            }
        }
    }
}

/// Whether `table` keeps stream positions (and so retention marks).
fn keeps_positions(table: &str) -> bool {
    matches!(table, "trades" | "tickers")
}

/// Raises `table`'s retention mark to `through` (the highest position removed, if any) and
/// `before_us` (rows before this exchange time may be gone); never lowers either.
async fn record_mark<C: ConnectionTrait>(
    db: &C,
    table: &str,
    through: Option<i64>,
    before_us: i64,
    now_us: i64,
) -> Result<(), StorageError> {
    let backend = db.get_database_backend();
    // The same text on both backends (sqlx binds `$n` on SQLite too): SQLite has no
    // greatest(), and its two-argument max() of a NULL is NULL.
    let sql = "INSERT INTO retention_marks \
               (table_name, dropped_through_position, dropped_before_us, at_us) \
               VALUES ($1, $2, $3, $4) \
               ON CONFLICT (table_name) DO UPDATE SET \
               dropped_through_position = CASE \
                 WHEN excluded.dropped_through_position IS NULL \
                   THEN retention_marks.dropped_through_position \
                 WHEN retention_marks.dropped_through_position IS NULL \
                   OR excluded.dropped_through_position > retention_marks.dropped_through_position \
                   THEN excluded.dropped_through_position \
                 ELSE retention_marks.dropped_through_position END, \
               dropped_before_us = CASE \
                 WHEN excluded.dropped_before_us > retention_marks.dropped_before_us \
                   THEN excluded.dropped_before_us ELSE retention_marks.dropped_before_us END, \
               at_us = excluded.at_us";
    db.execute(Statement::from_sql_and_values(
        backend,
        sql,
        [
            table.into(),
            through.into(),
            before_us.into(),
            now_us.into(),
        ],
    ))
    .await?;
    Ok(())
}

/// The highest stream position retention has removed from trades and tickers, packed
/// (`tickmesh_bus::Position::packed`), or `None` while it removed none that had one.
pub async fn dropped_through<C: ConnectionTrait>(db: &C) -> Result<Option<i64>, StorageError> {
    let row = db
        .query_one(Statement::from_string(
            db.get_database_backend(),
            "SELECT max(dropped_through_position) AS p FROM retention_marks \
             WHERE table_name IN ('trades', 'tickers')",
        ))
        .await?;
    Ok(match row {
        Some(row) => row.try_get("", "p")?,
        None => None,
    })
}
