//! Trades, tickers and order book snapshots in time partitions on PostgreSQL, and the marks
//! retention leaves.
//!
//! The three tables grow with every event and would grow forever. On PostgreSQL they become
//! RANGE-partitioned on `exchange_time_us`, so retention drops whole partitions (no row by row
//! delete, no vacuum debt) and a time-range read touches only the partitions of its range.
//! Up creates one partition per UTC day that the stored rows need (`trades_p20261206`: from
//! that day's midnight to the next) and copies every row into them, refusing to go on when a
//! count differs; storage creates the partitions ahead of time from then on, of the width it
//! is configured with (`storage.partition_interval`).
//!
//! A partitioned table's unique keys must contain the partition key, so the trades key
//! becomes (market, exchange time, trade id). A trade's exchange time is part of its
//! identity: the exchanges give the same time for a trade on the socket and over REST, and
//! ingestion drops repeated trade ids before anything is stored, so a replayed trade carries
//! the time it was first stored with and `ON CONFLICT` still finds it. The key leads with the
//! market and the time, which is what the time-range reads of trades and candles walk, so the
//! separate `ix_trades_market_time` index goes: one index fewer to write and store per trade.
//! Tickers and snapshots were keyed on (market, exchange time) already.
//!
//! SQLite stays unpartitioned (the embedded database retains by bounded deletes), but its
//! trades take the same key, so both backends accept and refuse the same rows.
//!
//! `retention_marks` keeps, per table, the highest stream position and the exchange time
//! before which retention has dropped rows: a stream client resuming from before that
//! position is told the stretch is not retained instead of getting a silent hole.
//!
//! Like migration 7, up and down copy the tables in one transaction with the writers locked
//! out, and need room for a second copy while they run. Down refuses (changing nothing) when
//! two trades share a market and trade id at different times, which the old key forbids.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{DbBackend, Statement, TransactionTrait};

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

/// The partitioned tables: name, primary key after up, primary key before.
const TABLES: [(&str, &str, &str); 3] = [
    (
        "trades",
        "market_id, exchange_time_us, trade_id",
        "market_id, trade_id",
    ),
    (
        "tickers",
        "market_id, exchange_time_us",
        "market_id, exchange_time_us",
    ),
    (
        "orderbook_snapshots",
        "market_id, exchange_time_us",
        "market_id, exchange_time_us",
    ),
];

/// Microseconds in a UTC day, the width of the partitions up creates.
const DAY_US: i64 = 86_400_000_000;

/// The partial position indexes (migration 9), which partitioned tables keep.
const POSITION_INDEXES: [(&str, &str); 2] = [
    ("trades", "ix_trades_position"),
    ("tickers", "ix_tickers_position"),
];

const CREATE_MARKS: &str = "CREATE TABLE retention_marks (\
    table_name text NOT NULL PRIMARY KEY, \
    dropped_through_position bigint NULL, \
    dropped_before_us bigint NOT NULL, \
    at_us bigint NOT NULL)";

/// The trades table of SQLite with `key` as its primary key.
fn sqlite_trades(name: &str, key: &str) -> String {
    format!(
        "CREATE TABLE {name} (market_id integer NOT NULL, trade_id bigint NOT NULL, \
         price text NOT NULL, size text NOT NULL, side text NOT NULL, \
         exchange_time_us bigint NOT NULL, received_time_us bigint NOT NULL, \
         position bigint NULL, PRIMARY KEY ({key}))"
    )
}

async fn exec(manager: &SchemaManager<'_>, sql: &str) -> Result<(), DbErr> {
    manager.get_connection().execute_unprepared(sql).await?;
    Ok(())
}

/// The number of rows in `table`.
async fn count(manager: &SchemaManager<'_>, table: &str) -> Result<i64, DbErr> {
    let row = manager
        .get_connection()
        .query_one(Statement::from_string(
            manager.get_database_backend(),
            format!("SELECT COUNT(*) AS n FROM {table}"),
        ))
        .await?
        .ok_or_else(|| DbErr::Migration(format!("counting {table} returned no row")))?;
    row.try_get("", "n")
}

/// Copies every row of `from` into `to` and drops `from`, or fails changing nothing when a
/// row did not come across.
async fn move_rows(manager: &SchemaManager<'_>, from: &str, to: &str) -> Result<(), DbErr> {
    exec(manager, &format!("INSERT INTO {to} SELECT * FROM {from}")).await?;
    let (old, copied) = (count(manager, from).await?, count(manager, to).await?);
    if old != copied {
        return Err(DbErr::Migration(format!(
            "{from}: {copied} of {old} rows copied; nothing was changed"
        )));
    }
    exec(manager, &format!("DROP TABLE {from}")).await
}

/// Creates a partition of `table` (named `{table}_new`) for each UTC day its rows need.
async fn day_partitions(manager: &SchemaManager<'_>, table: &str) -> Result<(), DbErr> {
    let sql = format!(
        "SELECT DISTINCT floor(exchange_time_us::numeric / {DAY_US})::bigint AS day \
         FROM {table} ORDER BY 1"
    );
    let days = manager
        .get_connection()
        .query_all(Statement::from_string(DbBackend::Postgres, sql))
        .await?;
    for row in days {
        let day: i64 = row.try_get("", "day")?;
        let from = day * DAY_US;
        exec(
            manager,
            &format!(
                "DO $$ BEGIN EXECUTE format('CREATE TABLE %I PARTITION OF {table}_new \
                 FOR VALUES FROM ({from}) TO ({to})', '{table}_p' || \
                 to_char(to_timestamp({seconds}) AT TIME ZONE 'UTC', 'YYYYMMDD')); END $$",
                to = from + DAY_US,
                seconds = day * 86_400,
            ),
        )
        .await?;
    }
    Ok(())
}

/// Blocks writers of the three tables until the migration commits (see migration 7).
async fn lock_writers(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    if manager.get_database_backend() != DbBackend::Postgres {
        return Ok(());
    }
    let tables: Vec<&str> = TABLES.iter().map(|t| t.0).collect();
    exec(
        manager,
        &format!(
            "LOCK TABLE {} IN SHARE ROW EXCLUSIVE MODE",
            tables.join(", ")
        ),
    )
    .await
}

async fn postgres_up(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    for (table, key, _) in TABLES {
        exec(
            manager,
            &format!(
                "CREATE TABLE {table}_new (LIKE {table} INCLUDING DEFAULTS INCLUDING CONSTRAINTS, \
                 CONSTRAINT {table}_pkey_new PRIMARY KEY ({key})) \
                 PARTITION BY RANGE (exchange_time_us)"
            ),
        )
        .await?;
        day_partitions(manager, table).await?;
        move_rows(manager, table, &format!("{table}_new")).await?;
        exec(
            manager,
            &format!("ALTER TABLE {table}_new RENAME TO {table}"),
        )
        .await?;
        exec(
            manager,
            &format!("ALTER TABLE {table} RENAME CONSTRAINT {table}_pkey_new TO {table}_pkey"),
        )
        .await?;
    }
    for (table, index) in POSITION_INDEXES {
        exec(
            manager,
            &format!(
                r#"CREATE INDEX "{index}" ON "{table}" ("position") WHERE "position" IS NOT NULL"#
            ),
        )
        .await?;
    }
    for (table, _, _) in TABLES {
        exec(manager, &format!("ANALYZE {table}")).await?;
    }
    Ok(())
}

async fn postgres_down(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    for (table, _, key) in TABLES {
        exec(
            manager,
            &format!(
                "CREATE TABLE {table}_new (LIKE {table} INCLUDING DEFAULTS INCLUDING CONSTRAINTS, \
                 CONSTRAINT {table}_pkey_new PRIMARY KEY ({key}))"
            ),
        )
        .await?;
        move_rows(manager, table, &format!("{table}_new")).await?;
        exec(
            manager,
            &format!("ALTER TABLE {table}_new RENAME TO {table}"),
        )
        .await?;
        exec(
            manager,
            &format!("ALTER TABLE {table} RENAME CONSTRAINT {table}_pkey_new TO {table}_pkey"),
        )
        .await?;
    }
    for (table, index) in POSITION_INDEXES {
        exec(
            manager,
            &format!(
                r#"CREATE INDEX "{index}" ON "{table}" ("position") WHERE "position" IS NOT NULL"#
            ),
        )
        .await?;
    }
    exec(
        manager,
        "CREATE INDEX ix_trades_market_time ON trades (market_id, exchange_time_us)",
    )
    .await
}

/// Rebuilds SQLite's trades keyed on `key`, with or without the market-time index.
async fn sqlite_trades_rebuild(
    manager: &SchemaManager<'_>,
    key: &str,
    time_index: bool,
) -> Result<(), DbErr> {
    exec(manager, &sqlite_trades("trades_rebuilt", key)).await?;
    move_rows(manager, "trades", "trades_rebuilt").await?;
    exec(manager, "ALTER TABLE trades_rebuilt RENAME TO trades").await?;
    exec(
        manager,
        r#"CREATE INDEX "ix_trades_position" ON "trades" ("position") WHERE "position" IS NOT NULL"#,
    )
    .await?;
    if time_index {
        exec(
            manager,
            "CREATE INDEX ix_trades_market_time ON trades (market_id, exchange_time_us)",
        )
        .await?;
    }
    Ok(())
}

// The trait's signature elides the lifetime; spelling it out would not match it.
#[allow(elided_lifetimes_in_paths)]
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, outer: &SchemaManager) -> Result<(), DbErr> {
        // One transaction on one connection, as in migration 7.
        let txn = outer.get_connection().begin().await?;
        let manager = &SchemaManager::new(&txn);
        lock_writers(manager).await?;
        if manager.get_database_backend() == DbBackend::Postgres {
            postgres_up(manager).await?;
        } else {
            sqlite_trades_rebuild(manager, TABLES[0].1, false).await?;
        }
        exec(manager, CREATE_MARKS).await?;
        txn.commit().await
    }

    async fn down(&self, outer: &SchemaManager) -> Result<(), DbErr> {
        let txn = outer.get_connection().begin().await?;
        let manager = &SchemaManager::new(&txn);
        lock_writers(manager).await?;
        if manager.get_database_backend() == DbBackend::Postgres {
            postgres_down(manager).await?;
        } else {
            sqlite_trades_rebuild(manager, TABLES[0].2, true).await?;
        }
        exec(manager, "DROP TABLE retention_marks").await?;
        txn.commit().await
    }
}
