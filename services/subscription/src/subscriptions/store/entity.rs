//! `subscriptions`: the markets tickmesh collects, unique per exchange and market.

use sea_orm::entity::prelude::*;

/// A desired subscription.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "subscriptions")]
pub struct Model {
    /// Surrogate key.
    #[sea_orm(primary_key)]
    pub id: i64,
    /// Exchange identifier.
    pub exchange: String,
    /// Canonical market.
    pub market: String,
    /// When it was created, epoch microseconds.
    pub created_at_us: i64,
}

/// No relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
