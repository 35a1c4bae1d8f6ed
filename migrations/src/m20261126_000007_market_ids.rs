//! Market data keyed on a small integer market id instead of the (exchange, market) text.
//!
//! Every insert of a trade, ticker, book or candle descends its table's primary key (and for
//! trades a second index), comparing keys column by column. With two text columns in front,
//! each comparison decodes and `memcmp`s strings; `perf` on PostgreSQL under `tickmesh bench`
//! showed `_bt_compare`, `nocache_index_getattr` and `memcmp` on top. Keyed on an integer
//! market id, the same inserts take clearly less time, and the rows and indexes get smaller
//! (docs/benchmarks.md has the figures).
//!
//! `markets` gives each (exchange, market) pair its id, once. Ids are never reused or
//! reassigned and rows are never deleted while the tables refer to them, so a writer may cache
//! an id for as long as it runs.
//!
//! Up creates `markets` from the pairs already stored and rebuilds each market-data table with
//! `market_id` in place of the two text columns, copying every row. Down does the reverse:
//! the text columns come back (compared byte by byte on PostgreSQL, as migration 6 left them)
//! and `markets` goes. Rebuilding is the one way that works on both backends: SQLite cannot
//! change a table's primary key in place. It runs in one transaction, takes time in proportion
//! to the rows stored, and needs room for a second copy of the tables while it runs; the
//! tables are smaller afterwards (docs/benchmarks.md has a measured example).

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{DbBackend, Statement, TransactionTrait};

use crate::columns::{big, decimal, decimal_null, text};

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

#[derive(DeriveIden)]
enum Markets {
    Table,
    Id,
    Exchange,
    Market,
}

/// A column's type, resolved per backend by [`crate::columns`].
#[derive(Debug, Clone, Copy)]
enum Kind {
    Big,
    Text,
    Decimal,
    DecimalNull,
}

/// A market-data table: the columns besides the market, key columns first.
#[derive(Debug)]
struct Shape {
    table: &'static str,
    /// How many of `columns`, from the first, follow the market in the primary key.
    key: usize,
    columns: &'static [(&'static str, Kind)],
    /// A secondary index on the market and one column: (name by name, name by id, column).
    index: Option<(&'static str, &'static str, &'static str)>,
}

const SHAPES: [Shape; 4] = [
    Shape {
        table: "trades",
        key: 1,
        columns: &[
            ("trade_id", Kind::Big),
            ("price", Kind::Decimal),
            ("size", Kind::Decimal),
            ("side", Kind::Text),
            ("exchange_time_us", Kind::Big),
            ("received_time_us", Kind::Big),
        ],
        index: Some((
            "ix_trades_exchange_market_time",
            "ix_trades_market_time",
            "exchange_time_us",
        )),
    },
    Shape {
        table: "tickers",
        key: 1,
        columns: &[
            ("exchange_time_us", Kind::Big),
            ("received_time_us", Kind::Big),
            ("last", Kind::Decimal),
            ("open", Kind::DecimalNull),
            ("high", Kind::DecimalNull),
            ("low", Kind::DecimalNull),
            ("prev_close", Kind::DecimalNull),
            ("volume_24h", Kind::DecimalNull),
            ("quote_volume_24h", Kind::DecimalNull),
            ("best_bid", Kind::DecimalNull),
            ("best_ask", Kind::DecimalNull),
        ],
        index: None,
    },
    Shape {
        table: "orderbook_snapshots",
        key: 1,
        columns: &[
            ("exchange_time_us", Kind::Big),
            ("received_time_us", Kind::Big),
            ("bids", Kind::Text),
            ("asks", Kind::Text),
        ],
        index: None,
    },
    Shape {
        table: "candles_1m",
        key: 1,
        columns: &[
            ("open_time_us", Kind::Big),
            ("open", Kind::Decimal),
            ("high", Kind::Decimal),
            ("low", Kind::Decimal),
            ("close", Kind::Decimal),
            ("volume", Kind::Decimal),
            ("quote_volume", Kind::Decimal),
            ("trade_count", Kind::Big),
            ("first_trade_time_us", Kind::Big),
            ("first_trade_id", Kind::Big),
            ("last_trade_time_us", Kind::Big),
            ("last_trade_id", Kind::Big),
        ],
        index: None,
    },
];

/// Which way a table is rebuilt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Key {
    /// `market_id` (up).
    Id,
    /// `exchange`, `market` (down).
    Names,
}

fn column(manager: &SchemaManager<'_>, name: &'static str, kind: Kind) -> ColumnDef {
    let name = Alias::new(name);
    match kind {
        Kind::Big => big(name),
        Kind::Text => text(name),
        Kind::Decimal => decimal(manager, name),
        Kind::DecimalNull => decimal_null(manager, name),
    }
}

/// The market columns of `key`: `market_id`, or the two codes (byte-order collated on
/// PostgreSQL, as migration 6 made them).
fn market_columns(manager: &SchemaManager<'_>, key: Key) -> Vec<ColumnDef> {
    match key {
        Key::Id => vec![
            ColumnDef::new(Alias::new("market_id"))
                .integer()
                .not_null()
                .to_owned(),
        ],
        Key::Names => ["exchange", "market"]
            .into_iter()
            .map(|name| {
                let mut def = text(Alias::new(name));
                if manager.get_database_backend() == DbBackend::Postgres {
                    def.extra(r#"COLLATE "C""#);
                }
                def
            })
            .collect(),
    }
}

/// Rebuilds `shape`'s table keyed on `key`, copying every row through `markets`.
async fn rebuild(manager: &SchemaManager<'_>, shape: &Shape, key: Key) -> Result<(), DbErr> {
    let db = manager.get_connection();
    let postgres = manager.get_database_backend() == DbBackend::Postgres;
    let table = shape.table;
    let new = format!("{table}_rebuilt");
    let market_names: &[&str] = match key {
        Key::Id => &["market_id"],
        Key::Names => &["exchange", "market"],
    };

    let mut create = Table::create();
    create.table(Alias::new(&new));
    for def in market_columns(manager, key) {
        create.col(def);
    }
    for &(name, kind) in shape.columns {
        create.col(column(manager, name, kind));
    }
    let mut primary = Index::create();
    for &name in market_names {
        primary.col(Alias::new(name));
    }
    for &(name, _) in &shape.columns[..shape.key] {
        primary.col(Alias::new(name));
    }
    create.primary_key(&mut primary);
    manager.create_table(create).await?;

    let rest: Vec<String> = shape
        .columns
        .iter()
        .map(|(n, _)| format!("t.{n}"))
        .collect();
    let (select_market, join) = match key {
        Key::Id => ("m.id", "m.exchange = t.exchange AND m.market = t.market"),
        Key::Names => ("m.exchange, m.market", "m.id = t.market_id"),
    };
    let bare: Vec<&str> = shape.columns.iter().map(|(n, _)| *n).collect();
    db.execute_unprepared(&format!(
        "INSERT INTO {new} ({}, {}) SELECT {select_market}, {} FROM {table} t \
         JOIN markets m ON {join}",
        market_names.join(", "),
        bare.join(", "),
        rest.join(", "),
    ))
    .await?;
    // Every row must have come across: a row whose market has no id (impossible while the
    // tables are locked, see `lock_writers`) would otherwise vanish with the old table.
    let (old, copied) = (count(manager, table).await?, count(manager, &new).await?);
    if old != copied {
        return Err(DbErr::Migration(format!(
            "{table}: {copied} of {old} rows copied; nothing was changed"
        )));
    }
    db.execute_unprepared(&format!("DROP TABLE {table}"))
        .await?;
    db.execute_unprepared(&format!("ALTER TABLE {new} RENAME TO {table}"))
        .await?;
    if postgres {
        // The key's index keeps the name it was created under; give it the usual one.
        db.execute_unprepared(&format!("ALTER INDEX {new}_pkey RENAME TO {table}_pkey"))
            .await?;
    }
    if let Some((by_names, by_id, time)) = shape.index {
        let mut index = Index::create();
        index
            .name(if key == Key::Id { by_id } else { by_names })
            .table(Alias::new(table));
        for &name in market_names {
            index.col(Alias::new(name));
        }
        index.col(Alias::new(time));
        manager.create_index(index).await?;
    }
    if postgres {
        // A new table starts without planner statistics; queries should not wait for
        // autovacuum to find it.
        db.execute_unprepared(&format!("ANALYZE {table}")).await?;
    }
    Ok(())
}

/// The number of rows in `table`.
async fn count(manager: &SchemaManager<'_>, table: &str) -> Result<i64, DbErr> {
    let db = manager.get_connection();
    let row = db
        .query_one(Statement::from_string(
            manager.get_database_backend(),
            format!("SELECT COUNT(*) AS n FROM {table}"),
        ))
        .await?
        .ok_or_else(|| DbErr::Migration(format!("counting {table} returned no row")))?;
    row.try_get("", "n")
}

/// Blocks writers of the market-data tables until the migration commits, so that no row a
/// running storage writes between a table's copy and its drop is lost (PostgreSQL; SQLite's
/// transaction holds its single write lock from its first statement). Readers go on until
/// the drop.
async fn lock_writers(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    if manager.get_database_backend() != DbBackend::Postgres {
        return Ok(());
    }
    let tables: Vec<&str> = SHAPES.iter().map(|s| s.table).collect();
    manager
        .get_connection()
        .execute_unprepared(&format!(
            "LOCK TABLE {} IN SHARE ROW EXCLUSIVE MODE",
            tables.join(", ")
        ))
        .await?;
    Ok(())
}

// The trait's signature elides the lifetime; spelling it out would not match it.
#[allow(elided_lifetimes_in_paths)]
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, outer: &SchemaManager) -> Result<(), DbErr> {
        // One transaction on one connection. PostgreSQL runs every migration in one already
        // (this becomes a savepoint); on SQLite the migrator does not, and a pooled connection
        // other than the one that dropped a table may still see it when parsing the rename.
        // It also makes the rebuild all or nothing there.
        let txn = outer.get_connection().begin().await?;
        let manager = &SchemaManager::new(&txn);
        lock_writers(manager).await?;
        let mut markets = Table::create();
        markets.table(Markets::Table).col(
            ColumnDef::new(Markets::Id)
                .integer()
                .not_null()
                .auto_increment()
                .primary_key(),
        );
        // The codes compare byte by byte, as they did in the tables (migration 6).
        for def in market_columns(manager, Key::Names) {
            markets.col(def);
        }
        manager.create_table(markets).await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_markets_exchange_market")
                    .table(Markets::Table)
                    .col(Markets::Exchange)
                    .col(Markets::Market)
                    .unique()
                    .to_owned(),
            )
            .await?;
        let pairs: Vec<String> = SHAPES
            .iter()
            .map(|s| format!("SELECT exchange, market FROM {}", s.table))
            .collect();
        manager
            .get_connection()
            .execute_unprepared(&format!(
                "INSERT INTO markets (exchange, market) {} ORDER BY 1, 2",
                pairs.join(" UNION ")
            ))
            .await?;
        for shape in &SHAPES {
            rebuild(manager, shape, Key::Id).await?;
        }
        txn.commit().await
    }

    async fn down(&self, outer: &SchemaManager) -> Result<(), DbErr> {
        // One transaction, as in `up`.
        let txn = outer.get_connection().begin().await?;
        let manager = &SchemaManager::new(&txn);
        lock_writers(manager).await?;
        for shape in &SHAPES {
            rebuild(manager, shape, Key::Names).await?;
        }
        manager
            .drop_table(Table::drop().table(Markets::Table).to_owned())
            .await?;
        txn.commit().await
    }
}
