//! Packing the indexes of partitions whose time range has closed (PostgreSQL).
//!
//! While a partition takes the day's writes, the trades key (market, exchange time, trade id)
//! fills its leaf pages about half: rows of many markets arrive interleaved, each market's
//! next key goes to the end of its own run in the middle of the index, and a full page there
//! is split in two halves of which the left never gets another entry. (PostgreSQL packs the
//! left page instead when it sees values rising within a group, but only for entries of at
//! most 24 bytes, and this key's are 32.) Once the range is past, the partition takes almost
//! nothing more, so its indexes are rebuilt once, at fillfactor 100: `REINDEX TABLE
//! CONCURRENTLY` writes each anew in key order, full pages, without blocking reads or writes.
//! Measured in docs/benchmarks.md (EPYC 9): about 35 bytes less per trade.
//!
//! The trade-offs: a rebuild reads the whole partition and needs room for a second copy of
//! its indexes while it runs, so a round packs at most one partition per table, the oldest
//! first; a late row that does arrive splits a full page (the index grows a little, nothing
//! more); and a rebuild waits for transactions using the partition to end. A rebuild cut
//! short leaves an invalid `_ccnew` index behind, which the next round drops first. A packed
//! partition's key carries the comment [`PACKED`], set once the rebuild succeeded; replicas take turns through
//! a session advisory lock on one connection of the pool (`REINDEX CONCURRENTLY` cannot run
//! inside the transaction that a transaction-scoped lock needs).

use sea_orm::sqlx::{self, Executor as _, Row as _};
use sea_orm::{DatabaseConnection, DbErr};

use super::partitions::{Partition, partitions};
use crate::StorageError;

/// Key of the session advisory lock held while packing (the bytes of "tickpak"); apart from
/// the partition lock, so a write making a partition never waits behind a rebuild.
const LOCK: i64 = 0x0074_6963_6b70_616b;

/// The comment on the key of a packed partition.
pub const PACKED: &str = "tickmesh: packed once its range closed";

/// How long after its range ends a partition is left alone: rows a little late (a REST
/// backfill after an outage, a writer catching up) still go in before it is packed.
pub const SETTLE_US: i64 = 3_600_000_000;

/// Packs the oldest partition of `table` that ended before `closed_before` (µs) and is not
/// packed yet. Returns its name, `Some(None)` when there was none to pack, and `None` when
/// another process holds the packing lock.
pub async fn pack_oldest(
    db: &DatabaseConnection,
    table: &str,
    closed_before: i64,
) -> Result<Option<Option<String>>, StorageError> {
    // Only a pooled PostgreSQL connection can lend one connection for a session lock.
    let DatabaseConnection::SqlxPostgresPoolConnection(_) = db else {
        return Ok(Some(None));
    };
    let mut conn = db
        .get_postgres_connection_pool()
        .acquire()
        .await
        .map_err(sqlx_error)?;
    let locked: bool = sqlx::query("SELECT pg_try_advisory_lock($1) AS got")
        .bind(LOCK)
        .fetch_one(&mut *conn)
        .await
        .map_err(sqlx_error)?
        .try_get("got")
        .map_err(sqlx_error)?;
    if !locked {
        return Ok(None);
    }
    let packed = pack_under_lock(db, &mut conn, table, closed_before).await;
    let unlocked = sqlx::query("SELECT pg_advisory_unlock($1)")
        .bind(LOCK)
        .execute(&mut *conn)
        .await;
    if unlocked.is_err() {
        // The lock goes with the session: close it rather than return it to the pool.
        conn.detach();
    }
    packed.map(Some)
}

async fn pack_under_lock(
    db: &DatabaseConnection,
    conn: &mut sqlx::PgConnection,
    table: &str,
    closed_before: i64,
) -> Result<Option<String>, StorageError> {
    for Partition { name, to, .. } in partitions(db, table).await? {
        if to > closed_before {
            break;
        }
        let indexes = sqlx::query(
            "SELECT i.indexrelid::regclass::text AS name, i.indisprimary AS key, \
             i.indisvalid AS valid, \
             coalesce(obj_description(i.indexrelid, 'pg_class') = $2, false) AS packed \
             FROM pg_index i WHERE i.indrelid = $1::regclass",
        )
        .bind(&name)
        .bind(PACKED)
        .fetch_all(&mut *conn)
        .await
        .map_err(sqlx_error)?;
        let packed = indexes.iter().any(|r| {
            r.try_get::<bool, _>("key").unwrap_or(false)
                && r.try_get::<bool, _>("packed").unwrap_or(false)
        });
        if packed {
            continue;
        }
        for row in &indexes {
            let index: String = row.try_get("name").map_err(sqlx_error)?;
            let valid: bool = row.try_get("valid").map_err(sqlx_error)?;
            if !valid && index.contains("_ccnew") {
                conn.execute(format!("DROP INDEX CONCURRENTLY IF EXISTS {index}").as_str())
                    .await
                    .map_err(sqlx_error)?;
            } else if valid {
                conn.execute(format!("ALTER INDEX {index} SET (fillfactor = 100)").as_str())
                    .await
                    .map_err(sqlx_error)?;
            }
        }
        conn.execute(format!("REINDEX TABLE CONCURRENTLY \"{name}\"").as_str())
            .await
            .map_err(sqlx_error)?;
        // Marked only once rebuilt: a rebuild cut short is tried again the next round.
        for row in indexes
            .iter()
            .filter(|r| r.try_get::<bool, _>("key").unwrap_or(false))
        {
            let index: String = row.try_get("name").map_err(sqlx_error)?;
            conn.execute(format!("COMMENT ON INDEX {index} IS '{PACKED}'").as_str())
                .await
                .map_err(sqlx_error)?;
        }
        return Ok(Some(name));
    }
    Ok(None)
}

fn sqlx_error(e: sqlx::Error) -> StorageError {
    StorageError::Db(DbErr::Custom(format!("packing partition indexes: {e}")))
}
