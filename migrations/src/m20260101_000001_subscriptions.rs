//! `subscriptions`: the markets an operator asked tickmesh to collect, one row per exchange
//! and market.

use sea_orm_migration::prelude::*;

use crate::columns::{big, text};

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

#[derive(DeriveIden)]
enum Subscriptions {
    Table,
    Id,
    Exchange,
    /// Canonical `BTC/KRW` spelling, so every exchange's symbol for a pair matches one row.
    Market,
    CreatedAtUs,
}

// The trait spells the manager's lifetime elided; naming it here would not match it.
#[allow(elided_lifetimes_in_paths)]
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Subscriptions::Table)
                    .col(
                        ColumnDef::new(Subscriptions::Id)
                            .big_integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(text(Subscriptions::Exchange))
                    .col(text(Subscriptions::Market))
                    .col(big(Subscriptions::CreatedAtUs))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_subscriptions_exchange_market")
                    .table(Subscriptions::Table)
                    .col(Subscriptions::Exchange)
                    .col(Subscriptions::Market)
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Subscriptions::Table).to_owned())
            .await
    }
}
