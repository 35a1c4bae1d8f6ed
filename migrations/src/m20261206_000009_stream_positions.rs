//! Each stored trade and ticker keeps its position in the durable stream.
//!
//! A stream client may resume from a position older than the stream still holds; the events
//! between then and what the stream holds are read from the database instead, in stream
//! order, which needs each row's position. `position` is the position packed into one
//! integer that sorts as positions do (`ms * 1,000,000 + seq`, see `tickmesh_bus::Position`),
//! taken from the header the bridge adds to each record. Rows stored before this migration,
//! and records that came without a position, keep `NULL`; a resume never reads them.
//!
//! The indexes cover only rows that have a position (partial indexes, on both backends):
//! the rows already stored are all `NULL`, so building them writes nothing for those rows and
//! holds the table's write lock only as long as one scan takes, and rows without a position
//! cost no index maintenance. A read by position range (`position > a AND position <= b`)
//! implies `position IS NOT NULL`, so both databases use them for it.
//!
//! Adding a nullable column without a default changes only the catalog on both backends; no
//! row is rewritten.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

/// The tables that keep a position, with the name of each one's position index.
const TABLES: [(&str, &str); 2] = [
    ("trades", "ix_trades_position"),
    ("tickers", "ix_tickers_position"),
];

// The trait's signature elides the lifetime; spelling it out would not match it.
#[allow(elided_lifetimes_in_paths)]
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (table, index) in TABLES {
            manager
                .alter_table(
                    Table::alter()
                        .table(Alias::new(table))
                        .add_column(ColumnDef::new(Alias::new("position")).big_integer().null())
                        .to_owned(),
                )
                .await?;
            // sea-query's index builder has no partial indexes; this text is the same on both.
            manager
                .get_connection()
                .execute_unprepared(&format!(
                    r#"CREATE INDEX "{index}" ON "{table}" ("position") WHERE "position" IS NOT NULL"#
                ))
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (table, index) in TABLES {
            // SQLite refuses to drop an indexed column, so the index goes first.
            manager
                .drop_index(
                    Index::drop()
                        .name(index)
                        .table(Alias::new(table))
                        .if_exists()
                        .to_owned(),
                )
                .await?;
            manager
                .alter_table(
                    Table::alter()
                        .table(Alias::new(table))
                        .drop_column(Alias::new("position"))
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
