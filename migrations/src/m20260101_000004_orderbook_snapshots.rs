//! `orderbook_snapshots`: throttled whole-book snapshots, one per exchange, market and exchange
//! time.
//!
//! `bids` and `asks` are JSON text, an array of `["price", "size"]` pairs best first. The
//! numbers are strings so no JSON reader turns them into floats.

use sea_orm_migration::prelude::*;

use crate::columns::{big, text};

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

#[derive(DeriveIden)]
enum OrderbookSnapshots {
    Table,
    Exchange,
    Market,
    ExchangeTimeUs,
    ReceivedTimeUs,
    Bids,
    Asks,
}

// The trait spells the manager's lifetime elided; naming it here would not match it.
#[allow(elided_lifetimes_in_paths)]
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(OrderbookSnapshots::Table)
                    .col(text(OrderbookSnapshots::Exchange))
                    .col(text(OrderbookSnapshots::Market))
                    .col(big(OrderbookSnapshots::ExchangeTimeUs))
                    .col(big(OrderbookSnapshots::ReceivedTimeUs))
                    .col(text(OrderbookSnapshots::Bids))
                    .col(text(OrderbookSnapshots::Asks))
                    .primary_key(
                        Index::create()
                            .col(OrderbookSnapshots::Exchange)
                            .col(OrderbookSnapshots::Market)
                            .col(OrderbookSnapshots::ExchangeTimeUs),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(OrderbookSnapshots::Table).to_owned())
            .await
    }
}
