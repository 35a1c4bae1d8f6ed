//! PostgreSQL's time partitions of trades, tickers and order book snapshots: which exist,
//! making the missing ones, and dropping expired ones.
//!
//! Partitions are made ahead of time by the maintenance round, and on demand by a write that
//! found none for a row (a clock far off, or a round that has not run yet). There is no
//! DEFAULT partition on purpose: rows in it would block making the partition for their range
//! later (PostgreSQL refuses to add a partition overlapping rows in the default one), and
//! retention could never drop them by range. A missing partition costs one failed statement
//! and a retry instead.
//!
//! A new partition is made as a plain table and then attached: attaching takes only a SHARE
//! UPDATE EXCLUSIVE lock on the parent, so reads and writes go on, where `CREATE TABLE ...
//! PARTITION OF` would take an ACCESS EXCLUSIVE one. Dropping a partition does take that
//! lock, briefly; a `lock_timeout` keeps a drop from queueing writers behind a long read (the
//! drop is tried again the next round). Every change runs under one transaction-scoped
//! advisory lock, so replicas never race to make or drop the same partition.

use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, DbErr, Statement, TransactionTrait};

use super::config::{DAY_US, HOUR_US};
use crate::StorageError;

/// The partitioned tables.
pub const PARTITIONED: [&str; 3] = ["trades", "tickers", "orderbook_snapshots"];

/// Key of the advisory lock held while partitions change (the bytes of "tickpar").
const LOCK: i64 = 0x0074_6963_6b70_6172;

/// How long a partition change waits for a table lock before giving up for this round.
const LOCK_TIMEOUT: &str = "SET LOCAL lock_timeout = '5s'";

/// One partition: its name and its range of exchange times, `[from, to)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Partition {
    /// The table's name (`trades_p20261206`).
    pub name: String,
    /// First exchange time in it, µs.
    pub from: i64,
    /// First exchange time after it, µs.
    pub to: i64,
}

/// The partitions of `table`, by start.
pub async fn partitions<C: ConnectionTrait>(
    db: &C,
    table: &str,
) -> Result<Vec<Partition>, StorageError> {
    let sql = "SELECT c.relname::text AS name, pg_get_expr(c.relpartbound, c.oid) AS bound \
               FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid \
               WHERE i.inhparent = $1::regclass";
    let rows = db
        .query_all(Statement::from_sql_and_values(
            DbBackend::Postgres,
            sql,
            [table.into()],
        ))
        .await?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let name: String = row.try_get("", "name")?;
        let bound: String = row.try_get("", "bound")?;
        // A DEFAULT partition (made by hand) has no range to keep or drop.
        if let Some((from, to)) = parse_bound(&bound) {
            out.push(Partition { name, from, to });
        }
    }
    out.sort_by_key(|p| p.from);
    Ok(out)
}

/// The range of `FOR VALUES FROM (a) TO (b)`, as `pg_get_expr` prints a range bound.
fn parse_bound(text: &str) -> Option<(i64, i64)> {
    let rest = text.strip_prefix("FOR VALUES FROM (")?;
    let (from, to) = rest.strip_suffix(')')?.split_once(") TO (")?;
    let value = |v: &str| match v.trim_matches('\'') {
        "MINVALUE" => Some(i64::MIN),
        "MAXVALUE" => Some(i64::MAX),
        digits => digits.parse().ok(),
    };
    Some((value(from)?, value(to)?))
}

/// The name of `table`'s partition starting at `from` (µs) and ending at `to`: the UTC date,
/// and the hour too unless it spans whole days from midnight (`trades_p20261206`,
/// `trades_p2026120613`).
pub fn partition_name(table: &str, from: i64, to: i64) -> String {
    let (y, m, d) = civil_date(from.div_euclid(DAY_US));
    if from.rem_euclid(DAY_US) == 0 && (to - from) % DAY_US == 0 {
        format!("{table}_p{y:04}{m:02}{d:02}")
    } else {
        let hour = from.rem_euclid(DAY_US) / HOUR_US;
        format!("{table}_p{y:04}{m:02}{d:02}{hour:02}")
    }
}

/// The (year, month, day) of `days` since 1970-01-01 (proleptic Gregorian; Howard
/// Hinnant's `civil_from_days`).
fn civil_date(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(month <= 2), month, day)
}

/// The windows of `width` µs, aligned on multiples of it, that hold `from` through `through`.
pub fn windows(from: i64, through: i64, width: i64) -> Vec<(i64, i64)> {
    let mut start = from.div_euclid(width) * width;
    let mut out = Vec::new();
    while start <= through {
        out.push((start, start + width));
        start += width;
    }
    out
}

/// The stretches of `[from, to)` that none of `existing` (sorted by start) covers.
fn gaps(existing: &[Partition], from: i64, to: i64) -> Vec<(i64, i64)> {
    let mut out = Vec::new();
    let mut at = from;
    for p in existing.iter().filter(|p| p.to > from && p.from < to) {
        if p.from > at {
            out.push((at, p.from));
        }
        at = at.max(p.to);
    }
    if at < to {
        out.push((at, to));
    }
    out
}

/// Makes the partitions of `table` that `windows` need and none covers yet (a window
/// partly covered, after the width changed, gets a partition for the rest). Waits for the
/// advisory lock when `wait`; otherwise returns `None` when another process holds it. Returns
/// the partitions made.
pub async fn ensure(
    db: &DatabaseConnection,
    table: &str,
    windows: &[(i64, i64)],
    wait: bool,
) -> Result<Option<Vec<Partition>>, StorageError> {
    let txn = db.begin().await?;
    txn.execute_unprepared(LOCK_TIMEOUT).await?;
    if !lock(&txn, wait).await? {
        return Ok(None);
    }
    let mut existing = partitions(&txn, table).await?;
    let mut made = Vec::new();
    for &(from, to) in windows {
        for (from, to) in gaps(&existing, from, to) {
            let name = partition_name(table, from, to);
            txn.execute_unprepared(&format!(
                "CREATE TABLE \"{name}\" (LIKE \"{table}\" INCLUDING DEFAULTS INCLUDING CONSTRAINTS)"
            ))
            .await?;
            txn.execute_unprepared(&format!(
                "ALTER TABLE \"{table}\" ATTACH PARTITION \"{name}\" FOR VALUES FROM ({from}) TO ({to})"
            ))
            .await?;
            let partition = Partition { name, from, to };
            existing.push(partition.clone());
            existing.sort_by_key(|p| p.from);
            made.push(partition);
        }
    }
    txn.commit().await?;
    Ok(Some(made))
}

/// What dropping one partition removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DroppedPartition {
    /// The partition.
    pub partition: Partition,
    /// Its rows.
    pub rows: u64,
    /// The highest stream position among them (trades and tickers).
    pub through_position: Option<i64>,
}

/// Drops every partition of `table` that ends at or before `cutoff` (µs), recording in
/// `retention_marks` what the dropped trades and tickers reached, in the same transaction.
/// Returns `None` when another process holds the advisory lock.
pub async fn drop_expired(
    db: &DatabaseConnection,
    table: &str,
    cutoff: i64,
    now_us: i64,
) -> Result<Option<Vec<DroppedPartition>>, StorageError> {
    let txn = db.begin().await?;
    txn.execute_unprepared(LOCK_TIMEOUT).await?;
    if !lock(&txn, false).await? {
        return Ok(None);
    }
    let mut dropped = Vec::new();
    for partition in partitions(&txn, table).await? {
        if partition.to > cutoff {
            continue;
        }
        let positioned = super::keeps_positions(table);
        let sql = format!(
            "SELECT count(*) AS n, {} AS p FROM \"{}\"",
            if positioned {
                "max(position)"
            } else {
                "NULL::bigint"
            },
            partition.name
        );
        let row = txn
            .query_one(Statement::from_string(DbBackend::Postgres, sql))
            .await?
            .ok_or_else(|| DbErr::Custom(format!("counting {} returned no row", partition.name)))?;
        let rows: i64 = row.try_get("", "n")?;
        let through_position: Option<i64> = row.try_get("", "p")?;
        if positioned {
            super::record_mark(&txn, table, through_position, partition.to, now_us).await?;
        }
        txn.execute_unprepared(&format!("DROP TABLE \"{}\"", partition.name))
            .await?;
        dropped.push(DroppedPartition {
            partition,
            rows: u64::try_from(rows).unwrap_or(0),
            through_position,
        });
    }
    txn.commit().await?;
    Ok(Some(dropped))
}

/// Takes the partition lock for the transaction: waiting for it, or only when free.
async fn lock<C: ConnectionTrait>(txn: &C, wait: bool) -> Result<bool, StorageError> {
    let sql = if wait {
        format!("SELECT true AS got, pg_advisory_xact_lock({LOCK})::text AS _l")
    } else {
        format!("SELECT pg_try_advisory_xact_lock({LOCK}) AS got")
    };
    let row = txn
        .query_one(Statement::from_string(DbBackend::Postgres, sql))
        .await?
        .ok_or_else(|| DbErr::Custom("taking the partition lock returned no row".into()))?;
    Ok(row.try_get("", "got")?)
}

/// Whether `error` is PostgreSQL finding no partition for a row.
pub fn no_partition(error: &StorageError) -> bool {
    let StorageError::Db(db) = error else {
        return false;
    };
    db.to_string().contains("no partition of relation")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2026-12-06T00:00:00Z.
    const DEC6: i64 = 1_796_515_200_000_000;

    #[test]
    fn names_carry_the_utc_date_and_the_hour_of_narrower_partitions() {
        assert_eq!(
            partition_name("trades", DEC6, DEC6 + DAY_US),
            "trades_p20261206"
        );
        assert_eq!(
            partition_name("trades", DEC6 + 13 * HOUR_US, DEC6 + 14 * HOUR_US),
            "trades_p2026120613"
        );
        assert_eq!(
            partition_name("tickers", DEC6, DEC6 + HOUR_US),
            "tickers_p2026120600"
        );
        assert_eq!(partition_name("t", 0, DAY_US), "t_p19700101");
        assert_eq!(partition_name("t", -DAY_US, 0), "t_p19691231");
        assert_eq!(
            partition_name("t", 951_782_400_000_000, 951_868_800_000_000),
            "t_p20000229"
        );
    }

    #[test]
    fn bounds_parse_as_postgres_prints_them() {
        assert_eq!(
            parse_bound("FOR VALUES FROM ('10') TO ('20')"),
            Some((10, 20))
        );
        assert_eq!(parse_bound("FOR VALUES FROM (-5) TO (7)"), Some((-5, 7)));
        assert_eq!(
            parse_bound("FOR VALUES FROM (MINVALUE) TO (7)"),
            Some((i64::MIN, 7))
        );
        assert_eq!(parse_bound("DEFAULT"), None);
    }

    #[test]
    fn windows_cover_the_span_and_gaps_skip_what_exists() {
        assert_eq!(
            windows(DEC6 + 5, DEC6 + DAY_US, DAY_US),
            [(DEC6, DEC6 + DAY_US), (DEC6 + DAY_US, DEC6 + 2 * DAY_US)]
        );
        let existing = [Partition {
            name: "x".into(),
            from: 10,
            to: 20,
        }];
        assert_eq!(gaps(&existing, 0, 30), [(0, 10), (20, 30)]);
        assert_eq!(gaps(&existing, 12, 18), []);
        assert_eq!(gaps(&existing, 15, 40), [(20, 40)]);
    }
}
