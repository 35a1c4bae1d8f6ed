//! `markets`: the id of each (exchange, market) pair the market-data tables are keyed on.
//!
//! A pair gets its id the first time storage writes it. Ids are never reassigned, so a writer
//! caches them for as long as it runs (see `writer::market_ids`).

use sea_orm::entity::prelude::*;

/// A market and its id.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "markets")]
pub struct Model {
    /// The id the other tables store.
    #[sea_orm(primary_key)]
    pub id: i32,
    /// Exchange identifier (`upbit`).
    pub exchange: String,
    /// Canonical market (`BTC/KRW`).
    pub market: String,
}

/// No relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
