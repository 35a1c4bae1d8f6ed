//! The [`SubscriptionStore`] port: where the desired set of exchange and market pairs lives.
//!
//! Two adapters: [`MemoryStore`] (in-process, for tests and runs that need no persistence) and
//! [`DbStore`] (the `subscriptions` table through sea-orm, on PostgreSQL and SQLite alike).
//! Both pass the same conformance suite (`subscriptions::conformance`, feature
//! `conformance`).
//!
//! The contract every adapter keeps:
//! - [`add`](SubscriptionStore::add) is idempotent: a pair already stored comes back with
//!   `created == false` and its original creation time, a new one with `created == true`.
//!   Results follow the input order, one per distinct pair (a repeated pair counts once).
//! - [`remove`](SubscriptionStore::remove) returns what it removed; removing what is not there
//!   is not an error.
//! - [`list`](SubscriptionStore::list) and `remove` return subscriptions sorted by exchange,
//!   then market (the domain order: upbit, bithumb, korbit).

mod db;
mod entity;
mod memory;

use async_trait::async_trait;
use tickmesh_domain::{Exchange, Market, UtcMicros};

pub use db::DbStore;
pub use memory::MemoryStore;

/// One desired exchange and market pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Subscription {
    /// The exchange to collect from.
    pub exchange: Exchange,
    /// The market to collect.
    pub market: Market,
    /// When the subscription was first created.
    pub created: UtcMicros,
}

impl Subscription {
    /// The pair this subscription is for.
    pub fn key(&self) -> (Exchange, Market) {
        (self.exchange, self.market)
    }
}

/// The outcome of adding one pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Added {
    /// The subscription as stored (the original one when it already existed).
    pub subscription: Subscription,
    /// Whether this call created it.
    pub created: bool,
}

/// A store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A statement failed; the same operation may succeed later.
    #[error("subscription database operation failed")]
    Db(#[from] sea_orm::DbErr),
    /// A stored row holds a value tickmesh did not write.
    #[error("invalid stored subscriptions.{column}: {reason}")]
    InvalidRow {
        /// The column.
        column: &'static str,
        /// What is wrong with the value.
        reason: String,
    },
}

/// The desired subscriptions (see the module docs for the contract).
#[async_trait]
pub trait SubscriptionStore: Send + Sync + std::fmt::Debug {
    /// Adds `pairs`, keeping those already stored unchanged.
    async fn add(&self, pairs: &[(Exchange, Market)]) -> Result<Vec<Added>, StoreError>;

    /// Removes `market` on `exchange`, or on every exchange when `None`; returns what was
    /// removed.
    async fn remove(
        &self,
        exchange: Option<Exchange>,
        market: Market,
    ) -> Result<Vec<Subscription>, StoreError>;

    /// Every subscription, or those of `exchange`, sorted by exchange then market.
    async fn list(&self, exchange: Option<Exchange>) -> Result<Vec<Subscription>, StoreError>;
}

/// `pairs` without repeats, first occurrence kept, order otherwise unchanged.
pub(crate) fn distinct(pairs: &[(Exchange, Market)]) -> Vec<(Exchange, Market)> {
    let mut seen = std::collections::HashSet::new();
    pairs.iter().copied().filter(|p| seen.insert(*p)).collect()
}
