//! Narrower rows for trades, tickers and order book snapshots.
//!
//! PostgreSQL aligns every `bigint` on 8 bytes, so a row that starts with the `integer`
//! market id pays 4 bytes of padding before the first `bigint`, and a `bigint` after the
//! variable-width decimals pays up to 7 more. Up rebuilds the three partitioned tables with
//! the fixed-width columns first, widest first (times, ids, position, then the market id),
//! and the decimals and texts last, where they need no alignment. A trade's side becomes a
//! one-byte `"char"` (`b` or `s`) instead of the text `buy` or `sell` (4 or 5 bytes);
//! storage reads it back cast to text. Prices and sizes stay `numeric`.
//!
//! The keys are unchanged. The trades key (market, exchange time, trade id) is what the
//! time-range reads of one market walk; leading it with the time instead would let
//! interleaved inserts fill its pages (they would all land on the rightmost page), but a read
//! of one quiet market would then step over every other market's trades, or need a second
//! index as large as the key. Its pages are split half full while a partition takes writes:
//! the key's entries (32 bytes) are wider than the 24 up to which PostgreSQL recognises
//! "rising values within a group" and packs the left page of a split. A partition whose range
//! is closed takes almost no inserts, so storage's maintenance rebuilds its indexes packed
//! then (`tickmesh_storage::maintenance::pack`).
//!
//! The partial position indexes take fillfactor 100: positions only grow, so their leaf pages
//! are split at the right edge and a full page never takes another entry; the default (90)
//! would only leave a tenth of each page empty for good.
//!
//! Up and down copy every row into a new table of the same partitions in one transaction with
//! the writers locked out (as migrations 7 and 10 do), refusing to go on when a count
//! differs, and build the keys after the copy, which packs them. SQLite stores any column in
//! the bytes its value needs, so there only the side is rewritten, to the same `b` and `s`.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{DbBackend, Statement, TransactionTrait};

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

/// One table's columns in one layout: their definitions, in order, and how each is copied
/// from the other layout (the same names, or the side converted).
struct Layout {
    table: &'static str,
    key: &'static str,
    columns: &'static str,
    copy: &'static str,
    position_index: Option<&'static str>,
}

/// The layouts after up.
const COMPACT: [Layout; 3] = [
    Layout {
        table: "trades",
        key: "market_id, exchange_time_us, trade_id",
        columns: "exchange_time_us bigint NOT NULL, trade_id bigint NOT NULL, \
                  received_time_us bigint NOT NULL, position bigint NULL, \
                  market_id integer NOT NULL, side \"char\" NOT NULL, \
                  price numeric NOT NULL, size numeric NOT NULL",
        copy: "exchange_time_us, trade_id, received_time_us, position, market_id, \
               CASE side WHEN 'buy' THEN 'b' WHEN 'sell' THEN 's' END, price, size",
        position_index: Some("ix_trades_position"),
    },
    Layout {
        table: "tickers",
        key: "market_id, exchange_time_us",
        columns: "exchange_time_us bigint NOT NULL, received_time_us bigint NOT NULL, \
                  position bigint NULL, market_id integer NOT NULL, last numeric NOT NULL, \
                  open numeric NULL, high numeric NULL, low numeric NULL, \
                  prev_close numeric NULL, volume_24h numeric NULL, \
                  quote_volume_24h numeric NULL, best_bid numeric NULL, best_ask numeric NULL",
        copy: "exchange_time_us, received_time_us, position, market_id, last, open, high, low, \
               prev_close, volume_24h, quote_volume_24h, best_bid, best_ask",
        position_index: Some("ix_tickers_position"),
    },
    Layout {
        table: "orderbook_snapshots",
        key: "market_id, exchange_time_us",
        columns: "exchange_time_us bigint NOT NULL, received_time_us bigint NOT NULL, \
                  market_id integer NOT NULL, bids text NOT NULL, asks text NOT NULL",
        copy: "exchange_time_us, received_time_us, market_id, bids, asks",
        position_index: None,
    },
];

/// The layouts of migration 10, which down restores.
const WIDE: [Layout; 3] = [
    Layout {
        table: "trades",
        key: "market_id, exchange_time_us, trade_id",
        columns: "market_id integer NOT NULL, trade_id bigint NOT NULL, price numeric NOT NULL, \
                  size numeric NOT NULL, side text NOT NULL, exchange_time_us bigint NOT NULL, \
                  received_time_us bigint NOT NULL, position bigint NULL",
        copy: "market_id, trade_id, price, size, \
               CASE side WHEN 'b' THEN 'buy' WHEN 's' THEN 'sell' END, \
               exchange_time_us, received_time_us, position",
        position_index: Some("ix_trades_position"),
    },
    Layout {
        table: "tickers",
        key: "market_id, exchange_time_us",
        columns: "market_id integer NOT NULL, exchange_time_us bigint NOT NULL, \
                  received_time_us bigint NOT NULL, last numeric NOT NULL, open numeric NULL, \
                  high numeric NULL, low numeric NULL, prev_close numeric NULL, \
                  volume_24h numeric NULL, quote_volume_24h numeric NULL, \
                  best_bid numeric NULL, best_ask numeric NULL, position bigint NULL",
        copy: "market_id, exchange_time_us, received_time_us, last, open, high, low, \
               prev_close, volume_24h, quote_volume_24h, best_bid, best_ask, position",
        position_index: Some("ix_tickers_position"),
    },
    Layout {
        table: "orderbook_snapshots",
        key: "market_id, exchange_time_us",
        columns: "market_id integer NOT NULL, exchange_time_us bigint NOT NULL, \
                  received_time_us bigint NOT NULL, bids text NOT NULL, asks text NOT NULL",
        copy: "market_id, exchange_time_us, received_time_us, bids, asks",
        position_index: None,
    },
];

async fn exec(manager: &SchemaManager<'_>, sql: &str) -> Result<(), DbErr> {
    manager.get_connection().execute_unprepared(sql).await?;
    Ok(())
}

async fn strings(manager: &SchemaManager<'_>, sql: &str) -> Result<Vec<String>, DbErr> {
    let rows = manager
        .get_connection()
        .query_all(Statement::from_string(DbBackend::Postgres, sql))
        .await?;
    rows.iter().map(|r| r.try_get::<String>("", "r")).collect()
}

/// Rebuilds `layout.table` as `layout` says, keeping its partitions and every row.
async fn rebuild(
    manager: &SchemaManager<'_>,
    layout: &Layout,
    fillfactor: &str,
) -> Result<(), DbErr> {
    let table = layout.table;
    let partitions = strings(
        manager,
        &format!(
            "SELECT c.relname::text || ' ' || pg_get_expr(c.relpartbound, c.oid) AS r \
             FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid \
             WHERE i.inhparent = '{table}'::regclass ORDER BY 1"
        ),
    )
    .await?;
    exec(
        manager,
        &format!(
            "CREATE TABLE {table}_compact ({}) PARTITION BY RANGE (exchange_time_us)",
            layout.columns
        ),
    )
    .await?;
    for partition in &partitions {
        let (name, bound) = partition.split_once(' ').ok_or_else(|| {
            DbErr::Migration(format!("{table}: unreadable partition {partition:?}"))
        })?;
        exec(
            manager,
            &format!("CREATE TABLE \"{name}_compact\" PARTITION OF {table}_compact {bound}"),
        )
        .await?;
    }
    let target: Vec<&str> = layout
        .columns
        .split(',')
        .filter_map(|c| c.split_whitespace().next())
        .collect();
    exec(
        manager,
        &format!(
            "INSERT INTO {table}_compact ({}) SELECT {} FROM {table}",
            target.join(", "),
            layout.copy
        ),
    )
    .await?;
    let counts = strings(
        manager,
        &format!(
            "SELECT (SELECT count(*) FROM {table}) || ' ' || \
             (SELECT count(*) FROM {table}_compact) AS r"
        ),
    )
    .await?;
    let (old, new) = counts
        .first()
        .and_then(|c| c.split_once(' '))
        .ok_or_else(|| DbErr::Migration(format!("counting {table} returned no row")))?;
    if old != new {
        return Err(DbErr::Migration(format!(
            "{table}: {new} of {old} rows copied; nothing was changed"
        )));
    }
    exec(manager, &format!("DROP TABLE {table}")).await?;
    exec(
        manager,
        &format!("ALTER TABLE {table}_compact RENAME TO {table}"),
    )
    .await?;
    for partition in &partitions {
        let name = partition.split(' ').next().unwrap_or_default();
        exec(
            manager,
            &format!("ALTER TABLE \"{name}_compact\" RENAME TO \"{name}\""),
        )
        .await?;
    }
    // Built after the copy, in one pass, so the key's pages start full.
    exec(
        manager,
        &format!(
            "ALTER TABLE {table} ADD CONSTRAINT {table}_pkey PRIMARY KEY ({})",
            layout.key
        ),
    )
    .await?;
    if let Some(index) = layout.position_index {
        exec(
            manager,
            &format!(
                r#"CREATE INDEX "{index}" ON "{table}" ("position"){fillfactor} WHERE "position" IS NOT NULL"#
            ),
        )
        .await?;
    }
    exec(manager, &format!("ANALYZE {table}")).await
}

/// Blocks writers of the three tables until the migration commits (see migration 7).
async fn lock_writers(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    exec(
        manager,
        "LOCK TABLE trades, tickers, orderbook_snapshots IN SHARE ROW EXCLUSIVE MODE",
    )
    .await
}

/// Rewrites SQLite's sides from one spelling to the other.
async fn sqlite_sides(
    manager: &SchemaManager<'_>,
    buy: (&str, &str),
    sell: (&str, &str),
) -> Result<(), DbErr> {
    exec(
        manager,
        &format!(
            "UPDATE trades SET side = CASE side WHEN '{}' THEN '{}' WHEN '{}' THEN '{}' \
             ELSE side END",
            buy.0, buy.1, sell.0, sell.1
        ),
    )
    .await
}

// The trait's signature elides the lifetime; spelling it out would not match it.
#[allow(elided_lifetimes_in_paths)]
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, outer: &SchemaManager) -> Result<(), DbErr> {
        let txn = outer.get_connection().begin().await?;
        let manager = &SchemaManager::new(&txn);
        if manager.get_database_backend() == DbBackend::Postgres {
            lock_writers(manager).await?;
            for layout in &COMPACT {
                rebuild(manager, layout, " WITH (fillfactor = 100)").await?;
            }
        } else {
            sqlite_sides(manager, ("buy", "b"), ("sell", "s")).await?;
        }
        txn.commit().await
    }

    async fn down(&self, outer: &SchemaManager) -> Result<(), DbErr> {
        let txn = outer.get_connection().begin().await?;
        let manager = &SchemaManager::new(&txn);
        if manager.get_database_backend() == DbBackend::Postgres {
            lock_writers(manager).await?;
            for layout in &WIDE {
                rebuild(manager, layout, "").await?;
            }
        } else {
            sqlite_sides(manager, ("b", "buy"), ("s", "sell")).await?;
        }
        txn.commit().await
    }
}
