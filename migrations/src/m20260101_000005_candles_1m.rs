//! `candles_1m`: one-minute OHLCV candles, one per exchange, market and minute.
//!
//! A candle keeps the time and id of the trades that opened and closed it, so merging a later
//! batch into a stored candle gives the same result whatever order trades arrived in.

use sea_orm_migration::prelude::*;

use crate::columns::{big, decimal, text};

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

#[derive(DeriveIden)]
enum Candles1m {
    #[sea_orm(iden = "candles_1m")]
    Table,
    Exchange,
    Market,
    OpenTimeUs,
    Open,
    High,
    Low,
    Close,
    Volume,
    QuoteVolume,
    TradeCount,
    FirstTradeTimeUs,
    FirstTradeId,
    LastTradeTimeUs,
    LastTradeId,
}

// The trait spells the manager's lifetime elided; naming it here would not match it.
#[allow(elided_lifetimes_in_paths)]
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Candles1m::Table)
                    .col(text(Candles1m::Exchange))
                    .col(text(Candles1m::Market))
                    .col(big(Candles1m::OpenTimeUs))
                    .col(decimal(manager, Candles1m::Open))
                    .col(decimal(manager, Candles1m::High))
                    .col(decimal(manager, Candles1m::Low))
                    .col(decimal(manager, Candles1m::Close))
                    .col(decimal(manager, Candles1m::Volume))
                    .col(decimal(manager, Candles1m::QuoteVolume))
                    .col(big(Candles1m::TradeCount))
                    .col(big(Candles1m::FirstTradeTimeUs))
                    .col(big(Candles1m::FirstTradeId))
                    .col(big(Candles1m::LastTradeTimeUs))
                    .col(big(Candles1m::LastTradeId))
                    .primary_key(
                        Index::create()
                            .col(Candles1m::Exchange)
                            .col(Candles1m::Market)
                            .col(Candles1m::OpenTimeUs),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Candles1m::Table).to_owned())
            .await
    }
}
