//! Retention on SQLite, which has no partitions: expired rows deleted a bounded batch at a
//! time, one market at a time along the primary key, with a pause between batches. SQLite
//! has one writer at a time, so a large delete would hold storage's writes back for as long
//! as it ran; a batch of a few thousand rows takes milliseconds.

use std::time::Duration;

use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, DbErr, Statement, TransactionTrait};

use crate::StorageError;

/// What deleting one table's expired rows removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Deleted {
    /// Rows deleted.
    pub rows: u64,
    /// Statements that deleted them.
    pub batches: u64,
}

/// Deletes the rows of `table` with an exchange time before `cutoff` (µs), at most `batch`
/// per statement with `pause` between statements, recording in `retention_marks` what the
/// deleted trades and tickers reached, in the transaction of each delete.
pub async fn delete_expired(
    db: &DatabaseConnection,
    table: &str,
    cutoff: i64,
    batch: u32,
    pause: Duration,
    now_us: i64,
) -> Result<Deleted, StorageError> {
    let backend = DbBackend::Sqlite;
    let positioned = super::keeps_positions(table);
    let markets = db
        .query_all(Statement::from_string(
            backend,
            "SELECT id FROM markets ORDER BY id",
        ))
        .await?;
    let mut done = Deleted::default();
    for market in markets {
        let market: i32 = market.try_get("", "id")?;
        // Walks the primary key (market id, exchange time, ...) from the market's oldest row.
        let expired = format!(
            "SELECT rowid, {} AS position FROM \"{table}\" \
             WHERE market_id = {market} AND exchange_time_us < {cutoff} \
             ORDER BY exchange_time_us LIMIT {batch}",
            if positioned { "position" } else { "NULL" }
        );
        loop {
            let txn = db.begin().await?;
            let row = txn
                .query_one(Statement::from_string(
                    backend,
                    format!("SELECT max(position) AS p FROM ({expired})"),
                ))
                .await?
                .ok_or_else(|| DbErr::Custom(format!("counting {table} returned no row")))?;
            let through: Option<i64> = row.try_get("", "p")?;
            let deleted = txn
                .execute(Statement::from_string(
                    backend,
                    format!(
                        "DELETE FROM \"{table}\" WHERE rowid IN (SELECT rowid FROM ({expired}))"
                    ),
                ))
                .await?
                .rows_affected();
            if deleted > 0 && positioned {
                super::record_mark(&txn, table, through, cutoff, now_us).await?;
            }
            txn.commit().await?;
            if deleted == 0 {
                break;
            }
            done.rows += deleted;
            done.batches += 1;
            if deleted < u64::from(batch) {
                break;
            }
            tokio::time::sleep(pause).await;
        }
    }
    Ok(done)
}
