//! `trades`: every executed trade once, keyed on (exchange, market, trade id).
//!
//! The primary key is the natural key, so a replayed trade is a conflict the writer skips and
//! never a second row. `trade_id` is `BIGINT`: exchange ids are unsigned 64-bit, and the writer
//! rejects the (never seen) ids above `i64::MAX` rather than wrapping them.

use sea_orm_migration::prelude::*;

use crate::columns::{big, decimal, text};

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

#[derive(DeriveIden)]
enum Trades {
    Table,
    Exchange,
    Market,
    TradeId,
    Price,
    Size,
    /// `buy` or `sell`, the taker side.
    Side,
    ExchangeTimeUs,
    ReceivedTimeUs,
}

// The trait spells the manager's lifetime elided; naming it here would not match it.
#[allow(elided_lifetimes_in_paths)]
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Trades::Table)
                    .col(text(Trades::Exchange))
                    .col(text(Trades::Market))
                    .col(big(Trades::TradeId))
                    .col(decimal(manager, Trades::Price))
                    .col(decimal(manager, Trades::Size))
                    .col(text(Trades::Side))
                    .col(big(Trades::ExchangeTimeUs))
                    .col(big(Trades::ReceivedTimeUs))
                    .primary_key(
                        Index::create()
                            .col(Trades::Exchange)
                            .col(Trades::Market)
                            .col(Trades::TradeId),
                    )
                    .to_owned(),
            )
            .await?;
        // History queries ask for a market's trades over a time range.
        manager
            .create_index(
                Index::create()
                    .name("ix_trades_exchange_market_time")
                    .table(Trades::Table)
                    .col(Trades::Exchange)
                    .col(Trades::Market)
                    .col(Trades::ExchangeTimeUs)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Trades::Table).to_owned())
            .await
    }
}
