//! `tickers`: ticker updates, one per exchange, market and exchange time.
//!
//! Fields an exchange does not send are `NULL`; only the last price is always present.

use sea_orm_migration::prelude::*;

use crate::columns::{big, decimal, decimal_null, text};

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

#[derive(DeriveIden)]
enum Tickers {
    Table,
    Exchange,
    Market,
    ExchangeTimeUs,
    ReceivedTimeUs,
    Last,
    Open,
    High,
    Low,
    PrevClose,
    #[sea_orm(iden = "volume_24h")]
    Volume24h,
    #[sea_orm(iden = "quote_volume_24h")]
    QuoteVolume24h,
    BestBid,
    BestAsk,
}

// The trait spells the manager's lifetime elided; naming it here would not match it.
#[allow(elided_lifetimes_in_paths)]
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Tickers::Table)
                    .col(text(Tickers::Exchange))
                    .col(text(Tickers::Market))
                    .col(big(Tickers::ExchangeTimeUs))
                    .col(big(Tickers::ReceivedTimeUs))
                    .col(decimal(manager, Tickers::Last))
                    .col(decimal_null(manager, Tickers::Open))
                    .col(decimal_null(manager, Tickers::High))
                    .col(decimal_null(manager, Tickers::Low))
                    .col(decimal_null(manager, Tickers::PrevClose))
                    .col(decimal_null(manager, Tickers::Volume24h))
                    .col(decimal_null(manager, Tickers::QuoteVolume24h))
                    .col(decimal_null(manager, Tickers::BestBid))
                    .col(decimal_null(manager, Tickers::BestAsk))
                    .primary_key(
                        Index::create()
                            .col(Tickers::Exchange)
                            .col(Tickers::Market)
                            .col(Tickers::ExchangeTimeUs),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Tickers::Table).to_owned())
            .await
    }
}
